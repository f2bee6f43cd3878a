// Appends each jest run's pass/fail counts to artifacts/test-counts.jsonl, so scripts/test.sh can print one
// closing "N passed, N failed" line for the whole workspace (nx runs one jest per project).
const fs = require('node:fs');
const path = require('node:path');

class CountReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '..', 'artifacts');
    fs.mkdirSync(dir, { recursive: true });
    const line = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.appendFileSync(path.join(dir, 'test-counts.jsonl'), `${JSON.stringify(line)}\n`);
  }
}
module.exports = CountReporter;
