// A webhook receiver for the lab, started inside a namespace: node webhook-receiver.js HOST PORT
// Answers the first POST with 503 (a receiver restarting), every later one with 204, and prints
// one JSON line per POST on stdout: {"status":503|204,"body":<the JSON received>}.
import http from 'node:http'

const [host, port] = process.argv.slice(2)
let posts = 0
const server = http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => { body += d })
  req.on('end', () => {
    posts++
    const status = posts === 1 ? 503 : 204
    let parsed = null
    try { parsed = JSON.parse(body) } catch { parsed = body }
    process.stdout.write(JSON.stringify({ status, path: req.url, contentType: req.headers['content-type'] ?? null, authorization: req.headers.authorization ?? null, body: parsed }) + '\n')
    res.writeHead(status).end()
  })
})
server.listen(Number(port), host, () => process.stderr.write(`listening on ${host}:${port}\n`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
