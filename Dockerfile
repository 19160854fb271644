# Two stages: Node only fetches the pinned browser libraries (vendor.mjs); the image that runs
# is Python alone (no node, no npm, no build tools) and runs as an unprivileged user.

FROM node:22-bookworm-slim AS vendor
WORKDIR /build
COPY package.json package-lock.json vendor.mjs ./
RUN npm ci --no-audit --no-fund && node vendor.mjs static/vendor

FROM python:3.11-slim-bookworm AS web
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin chat
COPY requirements.txt ./
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir -r requirements.txt
# The code belongs to root and is read-only to the server; only instance/ (the generated
# SECRET_KEY, the SQLite default) is the server's to write.
COPY . .
COPY --from=vendor /build/static/vendor static/vendor
RUN mkdir -p instance && chown chat:chat instance
USER chat
ENV HOST=0.0.0.0 PORT=5000 ASYNC_MODE=eventlet
EXPOSE 5000
CMD [".venv/bin/python", "serve.py"]
