// Preloaded into `next start` by `natlens demo` (NODE_OPTIONS=--require): the dashboard ends when the process that
// started it is gone, even if that one was killed with SIGKILL and could not stop it. Linux re-parents an orphan,
// so a changed parent PID means the parent died.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
