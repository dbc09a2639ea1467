// Copying a command or a script for the operator: the Clipboard API where the page is a secure
// context, else the text selected for Ctrl+C. The button says which happened.

/** Copies `text`, or selects it in `textEl`; `button` says what was done for 2.5 s. */
export async function copyText (text: string, textEl: HTMLElement, button: HTMLElement): Promise<void> {
  let ok = false
  try {
    if (window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      ok = true
    }
  } catch { ok = false }
  if (!ok) {
    // Without the Clipboard API (plain http on another host), select the text for Ctrl+C.
    const range = document.createRange()
    range.selectNodeContents(textEl)
    const sel = window.getSelection()
    sel?.removeAllRanges()
    sel?.addRange(range)
    // execCommand is deprecated but the only copy there is outside a secure context.
    try { ok = document.execCommand('copy') } catch { ok = false }
  }
  // The button's own label, kept across quick clicks.
  const label = button.dataset.label ?? button.textContent ?? 'Copy'
  button.dataset.label = label
  button.textContent = ok ? '✔ Copied' : 'Selected: press Ctrl+C'
  setTimeout(() => { button.textContent = label }, 2500)
}
