// The token. It arrives in the address's fragment (#token=...), which browsers never send to
// the server; the page keeps it in sessionStorage (this tab only) and removes it from the
// address bar. Without one, or with a refused one, a dialog asks for it.
import type { Access, SessionResponse } from '../../src/server/api-types.js'
import { api } from './api.js'
import { $ } from './dom.js'
import { state } from './state.js'

const TOKEN_KEY = 'portcheck.token'

/** Moves a token from the address's fragment to sessionStorage, and takes the stored one. */
export function takeTokenFromAddress (): void {
  const hash = location.hash.replace(/^#/, '')
  if (hash !== '') {
    const p = new URLSearchParams(hash)
    const t = p.get('token')
    if (t !== null && t !== '') {
      sessionStorage.setItem(TOKEN_KEY, t)
      p.delete('token')
      const rest = p.toString()
      history.replaceState(history.state, '', location.pathname + location.search + (rest !== '' ? `#${rest}` : ''))
    }
  }
  state.token = sessionStorage.getItem(TOKEN_KEY)
}

/** Opens the token dialog, with a message saying why, if any. */
export function askToken (message: string | null): void {
  const dlg = $('token-dialog', HTMLDialogElement)
  const err = $('token-error')
  err.textContent = message ?? ''
  err.hidden = message === null
  $('app').setAttribute('aria-busy', 'false')
  if (!dlg.open) {
    dlg.showModal()
    const input = $('token-input', HTMLInputElement)
    input.value = ''
    input.focus()
  }
}

/** Wires the token dialog; `onToken` runs once a token is entered. */
export function setupTokenDialog (onToken: () => void): void {
  const dlg = $('token-dialog', HTMLDialogElement)
  // The page is useless without a token: Escape does not dismiss the form.
  dlg.addEventListener('cancel', (e) => e.preventDefault())
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const t = $('token-input', HTMLInputElement).value.trim()
    if (t === '') return
    state.token = t
    sessionStorage.setItem(TOKEN_KEY, t)
    dlg.close()
    onToken()
  })
}

/** Whether the token may start runs (`full`) or only look (`read`), as the API says. */
export async function probeAccess (): Promise<Access> {
  try {
    const session = await api<SessionResponse>('/api/session')
    // Without a token (loopback), writes carry the coordinator's same-origin proof instead.
    state.csrf = session.csrf ?? null
    return session.access === 'read' ? 'read' : 'full'
  } catch {
    return 'full'
  }
}
