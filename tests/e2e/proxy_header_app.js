// A small Node.js server behind Pinwheel's send_proxy: it reads the PROXY protocol header
// (v1 or v2) itself, as an application would, and answers "client IP:PORT" for the address
// the header names. Prints "listening PORT" once it accepts.
'use strict';
const net = require('net');

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

// Returns {client, length} once `buf` holds a whole header, null while it may still grow.
function parseHeader(buf) {
  if (buf.length >= 12 && buf.subarray(0, 12).equals(V2_SIGNATURE)) {
    if (buf.length < 16) return null;
    const length = 16 + buf.readUInt16BE(14);
    if (buf.length < length) return null;
    const command = buf[12] & 0x0f;
    const family = buf[13];
    if (command === 0) return { client: 'local', length };
    if (family === 0x11) {
      const ip = Array.from(buf.subarray(16, 20)).join('.');
      return { client: `${ip}:${buf.readUInt16BE(24)}`, length };
    }
    if (family === 0x21) {
      const parts = [];
      for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(16 + i).toString(16));
      return { client: `[${parts.join(':')}]:${buf.readUInt16BE(48)}`, length };
    }
    throw new Error('unsupported v2 family ' + family);
  }
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length > 107) throw new Error('no CRLF in v1 header');
    return null;
  }
  const fields = buf.subarray(0, end).toString('latin1').split(' ');
  if (fields[0] !== 'PROXY') throw new Error('not a PROXY header');
  if (fields[1] === 'UNKNOWN') return { client: 'local', length: end + 2 };
  const ip = fields[1] === 'TCP6' ? `[${fields[2]}]` : fields[2];
  return { client: `${ip}:${fields[4]}`, length: end + 2 };
}

const server = net.createServer((socket) => {
  let buf = Buffer.alloc(0);
  let client = null;
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    try {
      if (client === null) {
        const header = parseHeader(buf);
        if (header === null) return;
        client = header.client;
        buf = buf.subarray(header.length);
      }
      // The client's own bytes follow the header; answer once it has sent a line.
      if (buf.indexOf('\n') >= 0) socket.end(`client ${client} said ${buf.toString().trim()}\n`);
    } catch (e) {
      socket.destroy();
    }
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
