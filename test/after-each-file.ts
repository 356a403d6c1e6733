/**
 * Run in every test file (jest's setupFilesAfterEnv). slonik logs through roarr, and roarr, each
 * time its module is loaded, adds an 'error' listener to process.stdout and keeps the function that
 * removes it on `globalThis.ROARR`. jest loads the modules afresh for every file in a worker, with a
 * new global each time, so the removers were lost and the listeners piled up on the worker's one
 * stdout: past ten files Node warned of a possible leak (MaxListenersExceededWarning). A running
 * service loads roarr once, so this is the tests' own doing, and each file now removes its listener.
 */
afterAll(() => {
  (globalThis as { ROARR?: { teardown?: () => void } }).ROARR?.teardown?.();
});
