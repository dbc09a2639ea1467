import type { Catalog, Flow } from '@portcheck/protocol'

/** What a check's flows are for, and where the vendor documents them. */
export interface FlowText {
  /** The flows' purposes, `; `-joined when they differ; null if none has one. */
  purpose: string | null
  /** The flows' document references, `; `-joined when they differ; null if none has one. */
  ref: string | null
}

interface CatalogTexts {
  flows: Map<string, Flow>
  /** By flow-id list: plans share one list between every check of the same flows. */
  byIds: WeakMap<readonly string[], FlowText>
}

const cache = new WeakMap<Catalog, CatalogTexts>()

function joined (values: ReadonlyArray<string | undefined>): string | null {
  const distinct = [...new Set(values.filter((v) => v !== undefined && v !== ''))]
  return distinct.length === 0 ? null : distinct.join('; ')
}

/** The purpose and document reference of a check's flows; cached per catalog and flow-id list. */
export function flowText (catalog: Catalog, flowIds: readonly string[]): FlowText {
  let texts = cache.get(catalog)
  if (texts === undefined) {
    texts = { flows: new Map(catalog.flows.map((f) => [f.id, f])), byIds: new WeakMap() }
    cache.set(catalog, texts)
  }
  let text = texts.byIds.get(flowIds)
  if (text === undefined) {
    const flows = flowIds.map((id) => texts.flows.get(id))
    text = { purpose: joined(flows.map((f) => f?.purpose)), ref: joined(flows.map((f) => f?.ref)) }
    texts.byIds.set(flowIds, text)
  }
  return text
}
