// Writes jest's totals to test-artifacts/jest-results.json so .ci/run can print them.
const fs = require('fs');
const path = require('path');
class ResultsReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', 'test-artifacts');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'jest-results.json'), JSON.stringify({
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      total: results.numTotalTests,
      failedSuites: results.numFailedTestSuites + results.numRuntimeErrorTestSuites,
    }));
  }
}
module.exports = ResultsReporter;
