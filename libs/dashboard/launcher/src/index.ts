// Runs the dashboard's server as a child process (for `natlens demo` and the tests): where its build is, whether it
// is stale, and the process itself.
export * from './dashboard-process';
