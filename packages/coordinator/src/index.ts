/**
 * portcheck: the coordinator's programmatic API. The `portcheck` CLI is a thin layer over it.
 */
export { loadInputs, runCheck, type Inputs, type InputOptions, type RunCheckOptions, type RunCheckResult } from './api.js'
export { buildCoordinator, type Coordinator, type CoordinatorOptions, type RunRequest } from './server/coordinator.js'
export { loadCatalog, loadCatalogFile, listCatalogFiles, validateCatalogSource, type LoadedCatalog } from './catalog/load-catalog.js'
export { loadInventory, validateInventorySource, type LoadedInventory } from './inventory/load-inventory.js'
export { SourceFile, formatPath } from './catalog/source-file.js'
export { evaluate, formatCondition, compareVersions, type SettingValues } from './catalog/conditions.js'
export { buildPlan, catalogRows, type Plan, type PlannedCheck, type CatalogRow, type SkipReason } from './plan/expand.js'
export { decide, type Observation, type Verdict } from './scheduler/verdict.js'
export { Run, type RunOptions } from './scheduler/run.js'
export { AgentHub } from './hub/agent-hub.js'
export { formatTable } from './report/format-table.js'
export { formatJunit } from './report/format-junit.js'
export { remedy } from './report/remedy.js'
export type { RunReport, CheckReport, Counts, RunVerdict, RunState } from './report/report.js'
