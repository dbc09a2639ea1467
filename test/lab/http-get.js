// GET a URL from inside a lab namespace, through undici: node http-get.js URL [--ca FILE] [--bearer-file FILE]
// Prints the status on the first line, then the body. --ca trusts that certificate (the
// coordinator's self-signed one) as Prometheus's tls_config.ca_file does; --bearer-file sends the
// token in that file as Prometheus's authorization.credentials_file does.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'undici'

const [url, ...rest] = process.argv.slice(2)
const opt = (name) => { const i = rest.indexOf(name); return i === -1 ? undefined : rest[i + 1] }
const ca = opt('--ca')
const bearer = opt('--bearer-file')
const dispatcher = new Agent({ connect: ca !== undefined ? { ca: readFileSync(ca) } : {} })
const res = await request(url, { dispatcher, headers: bearer !== undefined ? { authorization: `Bearer ${readFileSync(bearer, 'utf8').trim()}` } : {} })
process.stdout.write(`${res.statusCode}\n${await res.body.text()}`)
await dispatcher.close()
