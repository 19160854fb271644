// Generated from chat/payloads.py and chat/rules.py by `make protocol`: do not edit.

export const CLIENT_EVENTS = Object.freeze(["delete_message", "edit_message", "invite", "joined_room", "leave_room", "load_history", "mark_seen", "moderate", "react", "send_message", "set_topic", "typing_status", "watch_rooms"]);
export const SERVER_EVENTS = Object.freeze(["chat_error", "join_room_announcement", "leave_room_announcement", "mentioned", "message_deleted", "message_edited", "messages_seen", "presence_changed", "reaction_changed", "recieve_message", "rejoin_room", "role_changed", "room_added", "room_removed", "room_updated", "signed_out", "typing_on"]);
export const LIMITS = Object.freeze({
  "MAX_MESSAGE_LENGTH": 4000,
  "MAX_CLIENT_ID_LENGTH": 64,
  "PAGE_SIZE": 50,
  "MAX_PAGE_SIZE": 100,
  "MAX_ATTACHMENTS": 10,
  "MAX_UPLOAD_MB": 10,
  "UPLOAD_QUOTA_MB": 500,
  "THUMBNAIL_SIZE": 400
});
export const PATTERNS = Object.freeze({
  "USERNAME": "^[A-Za-z0-9_.-]{3,32}$",
  "PUBLIC_ROOM": "^[A-Za-z0-9_.-]{1,64}$",
  "ROOM": "^([A-Za-z0-9_.-]{1,64}|dm:[a-z0-9_.-]{3,32}:[a-z0-9_.-]{3,32})$"
});
