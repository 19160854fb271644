'use strict';

// Who is here and who is typing: join and leave announcements (and whether they are a
// change of membership), a direct peer coming online, and typing notices, each of which
// fades on its own when no refresh comes.

const TYPING_EXPIRE = 5000; // ms before someone else's indicator fades without a refresh

export function createPresence({ store }) {
  const { dispatch } = store;
  const timers = new Map(); // room + username -> the timer that ends their typing
  const key = (d) => `${d.room}\n${String(d.username).toLowerCase()}`;

  store.listen((event) => {
    if (event.type === 'disconnected') for (const timer of timers.values()) clearTimeout(timer);
  });

  function typing(d) {
    clearTimeout(timers.get(key(d)));
    dispatch({ type: 'typing', room: d.room, username: d.username, typing: Boolean(d.typing) });
    if (d.typing) {
      const stop = () => dispatch({ type: 'typing', room: d.room, username: d.username, typing: false });
      timers.set(key(d), setTimeout(stop, TYPING_EXPIRE));
    }
  }

  return {
    events: {
      typing_on: typing,
      // `membership`: the user became a member with this join, or stopped being one; without
      // it they only opened or closed the room.
      join_room_announcement: (d) =>
        dispatch({ type: 'announced', room: d.room, username: d.username, joined: true, membership: d.membership === true }),
      leave_room_announcement: (d) => {
        clearTimeout(timers.get(key(d)));
        dispatch({ type: 'announced', room: d.room, username: d.username, joined: false, membership: d.membership === true });
      },
      presence_changed: (d) =>
        dispatch({ type: 'presence', username: d.username, online: Boolean(d.online) }),
    },
  };
}
