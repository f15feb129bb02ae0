// Records the OTLP/HTTP requests an SDK sends, to commit as decoder fixtures:
//   node capture.js OUT_DIR PORT_FILE
// Writes OUT_DIR/NNN-traces.{json,pb} / NNN-logs.{json,pb}, replies as an
// OTLP receiver that accepted everything, and writes its port to PORT_FILE.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

const [outDir, portFile] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
let n = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    const proto = (req.headers['content-type'] || '').includes('protobuf');
    const kind = req.url.endsWith('/v1/logs') ? 'logs' : 'traces';
    const name = `${String(n++).padStart(3, '0')}-${kind}.${proto ? 'pb' : 'json'}`;
    fs.writeFileSync(path.join(outDir, name), body);
    res.writeHead(200, { 'Content-Type': proto ? 'application/x-protobuf' : 'application/json' });
    res.end(proto ? Buffer.alloc(0) : '{}');
  });
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
