// The Node.js clustering articles' app, single process, plain `http` (no dependencies):
//   node bench/node/app.js [PORT]        (or PORT=... in the environment; default 3000)
// Socket-activated (LISTEN_FDS=1 and LISTEN_PID naming this process, as Pinwheel's
// socket_activation and direct mode hand it over), it serves descriptor 3 instead of PORT.
// Routes:
//   /, /fast      answer at once
//   /slow         ~1 s of CPU on the event loop (?ms=N: N ms), as the articles' blocking route
//   /api/slow     the articles' load-test route: 7^7 iterations of Math.atan(i) * Math.tan(i)
//   /whoami       {"pid": ...}: which process answered (requests per backend or worker)
//   /health       ok
// Listens on 127.0.0.1 only. Every answer carries Content-Length.
'use strict';

const http = require('http');

const DEFAULT_SLOW_MS = 1000;
const MAX_SLOW_MS = 60000;

function send(res, status, body, type) {
  res.writeHead(status, {
    'Content-Type': type || 'text/plain',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

// Spins on the clock: the point of /slow is to hold the event loop, as CPU work does.
function burn(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
  }
  return x;
}

function apiSlow() {
  let total = 0;
  for (let i = 0; i < 7 ** 7; i++) total += Math.atan(i) * Math.tan(i);
  return total;
}

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  switch (url.pathname) {
    case '/':
    case '/fast':
      return send(res, 200, 'fast\n');
    case '/slow': {
      const raw = url.searchParams.get('ms');
      const ms = raw === null ? DEFAULT_SLOW_MS : Number(raw);
      if (!Number.isInteger(ms) || ms < 0) return send(res, 400, 'slow needs ?ms=N, N an integer\n');
      const spent = Math.min(ms, MAX_SLOW_MS);
      burn(spent);
      return send(res, 200, `slow ${spent}ms pid ${process.pid}\n`);
    }
    case '/api/slow':
      return send(res, 200, `result ${apiSlow()}\n`);
    case '/whoami':
      return send(res, 200, JSON.stringify({ pid: process.pid }), 'application/json');
    case '/health':
      return send(res, 200, 'ok\n');
    default:
      return send(res, 404, 'not found\n');
  }
}

function start(port, onListening) {
  const server = http.createServer(handle);
  // Keep-alive connections stay open for the whole of a benchmark's keep-alive test.
  server.keepAliveTimeout = 120000;
  server.headersTimeout = 121000;
  const activated = process.env.LISTEN_FDS === '1' && Number(process.env.LISTEN_PID) === process.pid;
  if (activated) server.listen({ fd: 3 }, () => onListening(server));
  else server.listen(port, '127.0.0.1', () => onListening(server));
  return server;
}

module.exports = { start };

if (require.main === module) {
  const arg = process.argv[2] || process.env.PORT || '3000';
  const port = Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`app.js: port must be an integer 0-65535, not '${arg}'`);
    process.exit(2);
  }
  start(port, (server) => console.log(`app.js: pid ${process.pid} listening on 127.0.0.1:${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}
