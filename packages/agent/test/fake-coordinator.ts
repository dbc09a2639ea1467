import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import pino from 'pino'
import { PROTOCOL_VERSION, parseAgentMessage, type AgentMessage, type CoordinatorMessage } from '@portcheck/protocol'
import { startAgent } from '../src/index.js'

/** A credential of the right shape: the fake coordinators here do not check it. */
export const CRED = 'c'.repeat(43)

/** A coordinator stand-in that accepts one agent and lets a test drive the protocol by hand. */
export interface FakeCoordinator {
  /** `ws://127.0.0.1:PORT`, for the agent's `coordinator` option. */
  url: string
  /** Resolves with the agent's connection once it has connected. */
  agent: () => Promise<WebSocket>
  /** The next message of this type the agent sent (queued ones first). */
  next: <T extends AgentMessage['type']>(type: T) => Promise<Extract<AgentMessage, { type: T }>>
  send: (m: CoordinatorMessage) => void
}

/** Starts a {@link FakeCoordinator} on 127.0.0.1 (ephemeral port); closed at teardown. */
export async function fakeCoordinator (t: Test): Promise<FakeCoordinator> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => wss.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  const inbox: AgentMessage[] = []
  const waiting: Array<{ type: string, resolve: (m: AgentMessage) => void }> = []
  let socket: WebSocket | null = null
  const connected = new Promise<WebSocket>((resolve) => wss.on('connection', (ws) => {
    socket = ws
    ws.on('message', (d: Buffer) => {
      const m = parseAgentMessage(d)
      const w = waiting.findIndex((x) => x.type === m.type)
      if (w >= 0) waiting.splice(w, 1)[0]?.resolve(m)
      else inbox.push(m)
    })
    resolve(ws)
  }))
  const next = (type: AgentMessage['type']): Promise<AgentMessage> => {
    const i = inbox.findIndex((m) => m.type === type)
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as AgentMessage)
    return new Promise((resolve) => waiting.push({ type, resolve }))
  }
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    agent: () => connected,
    next: next as FakeCoordinator['next'],
    send: (m) => socket?.send(JSON.stringify(m))
  }
}

/** Welcomes the agent that just connected to `fake`, having checked its `hello`; resolves once it is registered. */
export async function welcome (t: Test, fake: FakeCoordinator, name: string, bind: string): Promise<void> {
  await fake.agent()
  t.match(await fake.next('hello'), { type: 'hello', name, bind: [bind], protocol: PROTOCOL_VERSION })
  fake.send({ type: 'welcome', protocol: PROTOCOL_VERSION, agentId: 'a1', heartbeatMs: 60_000 })
}

/** An in-process agent (`name`, bound to `bind`) joined to a new {@link FakeCoordinator}; both closed at teardown. */
export async function joinedAgent (t: Test, name: string, bind: string): Promise<FakeCoordinator> {
  const fake = await fakeCoordinator(t)
  const agent = startAgent({ coordinator: fake.url, token: CRED, insecure: true, name, bind, logger: pino({ level: 'silent' }), reconnectMinMs: 60_000 })
  t.teardown(() => agent.close())
  await welcome(t, fake, name, bind)
  await agent.registered
  return fake
}
