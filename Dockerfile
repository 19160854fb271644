FROM python:3.11-slim AS web
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt package.json package-lock.json Makefile ./
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir -r requirements.txt \
    && touch .venv/.runtime && npm ci --no-audit --no-fund
COPY . .
RUN make static/vendor/socket.io.min.js
ENV HOST=0.0.0.0 PORT=5000 ASYNC_MODE=eventlet
EXPOSE 5000
CMD [".venv/bin/python", "serve.py"]
