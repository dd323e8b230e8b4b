// The same app under Node's own cluster module: a primary process and N workers sharing one
// port; the primary accepts and hands connections to workers in strict rotation (SCHED_RR,
// Node's default on Linux).
//   node bench/node/cluster.js PORT [WORKERS]     (or PORT=..., WORKERS=...; default: one per core)
// Prints "cluster.js: N workers listening on 127.0.0.1:PORT" once every worker listens.
// On SIGTERM/SIGINT the primary stops its workers, then exits.
'use strict';

const cluster = require('cluster');
const os = require('os');
const { start } = require('./app');

if (cluster.isPrimary) {
  const portArg = process.argv[2] || process.env.PORT || '3000';
  const workersArg = process.argv[3] || process.env.WORKERS || String(os.availableParallelism());
  const port = Number(portArg);
  const workers = Number(workersArg);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`cluster.js: port must be an integer 1-65535, not '${portArg}'`);
    process.exit(2);
  }
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`cluster.js: workers must be a positive integer, not '${workersArg}'`);
    process.exit(2);
  }
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  let stopping = false;
  cluster.on('listening', () => {
    if (++listening === workers) {
      console.log(`cluster.js: ${workers} workers listening on 127.0.0.1:${port}`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) console.error(`cluster.js: worker ${worker.process.pid} exited (${signal || code})`);
  });
  for (let i = 0; i < workers; i++) cluster.fork({ PORT: String(port) });
  const stop = () => {
    stopping = true;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  start(Number(process.env.PORT), () => {});
  process.on('SIGTERM', () => process.exit(0));
}
