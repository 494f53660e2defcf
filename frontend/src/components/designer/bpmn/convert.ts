// BPMN 2.0 XML ↔ Tongban's process definition (the JSON `PUT /processes/{id}` takes), in the
// browser. Reading mirrors the server's reader (`backend/engine/src/bpmn.rs::import`) rule for
// rule — the same elements mapped, the same ones refused, `<tongban:config>` read with the same
// keys — so that what the designer saves is what the server would have imported from the same
// file. Writing produces what bpmn.rs's export does (with the diagram the designer drew, or a
// left-to-right layout), which both bpmn-js and the server read.
import { BpmnModdle } from 'bpmn-moddle'

import type { MConfig, MDefinitions, MElement, MFlowNode, MProcess, MSequenceFlow } from './elements'
import { localName } from './elements'
import {
  NODE_CONFIG_KEYS,
  PROCESS_CONFIG_KEYS,
  TAG_OF_KIND,
  TONGBAN_NS,
  tongbanModdle,
  type AssigneeRule,
  type FlowDoc,
  type NodeConfig,
  type NodeDoc,
  type NodeKind,
  type ProcessConfig,
  type ProcessDefinition,
} from './tongban'

export type ImportErrorCode = 'xml' | 'not_bpmn' | 'process_count' | 'unsupported' | 'invalid'

/** Why a document cannot become a definition; `ids` are the elements at fault. */
export class BpmnImportError extends Error {
  constructor(
    readonly code: ImportErrorCode,
    message: string,
    readonly ids: string[] = [],
  ) {
    super(message)
    this.name = 'BpmnImportError'
  }
}

export function createModdle(): BpmnModdle {
  return new BpmnModdle({ tongban: tongbanModdle })
}

/** Parse a BPMN document (not yet checked for Tongban's subset). */
export async function parseBpmn(xml: string, moddle: BpmnModdle = createModdle()): Promise<MDefinitions> {
  if (/<!DOCTYPE/i.test(xml)) throw new BpmnImportError('xml', 'DOCTYPE declarations are not accepted')
  let root: MElement
  try {
    root = (await moddle.fromXML(xml)).rootElement
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    // bpmn-moddle refuses any other root element while parsing.
    if (/failed to parse document as <bpmn:Definitions>/i.test(msg)) {
      throw new BpmnImportError('not_bpmn', 'the root element must be bpmn:definitions')
    }
    throw new BpmnImportError('xml', `not a readable XML document: ${msg}`)
  }
  if (root.$type !== 'bpmn:Definitions') throw new BpmnImportError('not_bpmn', 'the root element must be bpmn:definitions')
  return root
}

/** The document's one process (bpmn.rs refuses none or several). */
export function processOf(defs: MDefinitions): MProcess {
  const processes = (defs.rootElements ?? []).filter((e) => e.$type === 'bpmn:Process')
  if (processes.length !== 1) {
    throw new BpmnImportError('process_count', `the document must contain exactly one process, found ${processes.length}`)
  }
  return processes[0] as MProcess
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isString = (v: unknown): v is string => typeof v === 'string'
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString)
const isCount = (v: unknown, max = 2 ** 32 - 1) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max
const onlyKeys = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k))

function validDepartmentRef(v: unknown): boolean {
  if (v === 'applicant_department' || v === 'process_department') return true
  if (!isObject(v) || Object.keys(v).length !== 1) return false
  return isString(v.department) || isString(v.field)
}

/** Whether `v` is an assignee rule serde would read (tagged by `type`, no other keys). */
export function validRule(v: unknown): v is AssigneeRule {
  if (!isObject(v) || !isString(v.type)) return false
  const has = (...keys: string[]) => onlyKeys(v, ['type', ...keys]) && keys.every((k) => k in v)
  switch (v.type) {
    case 'users':
      return has('users') && isStrings(v.users)
    case 'role':
      return has('code') && isString(v.code)
    case 'position':
      return has('kind') && isString(v.kind)
    case 'department_head':
    case 'supervising_leader':
      return has('of') && validDepartmentRef(v.of)
    case 'form_field':
      return has('field') && isString(v.field)
    case 'applicant_picks':
      return has('key') && isString(v.key)
    case 'applicant_department_head':
    case 'class_counsellor':
    case 'previous_handler_leader':
      return has()
    default:
      return false
  }
}

function validMode(v: unknown): boolean {
  if (!isObject(v)) return false
  if (v.type === 'single' || v.type === 'sequential') return onlyKeys(v, ['type'])
  if (v.type !== 'parallel' || !onlyKeys(v, ['type', 'completion'])) return false
  const c = v.completion
  return c === 'all' || c === 'any' || (isObject(c) && onlyKeys(c, ['percent']) && isCount(c.percent, 255))
}

function validCall(v: unknown): boolean {
  if (!isObject(v)) return false
  const key = { issue_certificate: 'certificate_type', webhook: 'hook', notify: 'template' }[String(v.type)]
  return !!key && onlyKeys(v, ['type', key]) && isString(v[key])
}

function validTimeLimit(v: unknown): boolean {
  return (
    isObject(v) &&
    onlyKeys(v, ['amount', 'unit']) &&
    isCount(v.amount) &&
    (v.unit === 'working_days' || v.unit === 'working_hours' || v.unit === 'hours')
  )
}

function validFieldAccess(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((a) => a === 'editable' || a === 'required' || a === 'read_only' || a === 'hidden')
}

/** What is wrong with a node's config, or null (the checks serde makes of `NodeConfig`). */
export function nodeConfigProblem(c: Record<string, unknown>): string | null {
  const unknown = Object.keys(c).filter((k) => !(NODE_CONFIG_KEYS as readonly string[]).includes(k))
  if (unknown.length) return `unknown field ${unknown.map((k) => `\`${k}\``).join(', ')}`
  if ('assignees' in c && !(Array.isArray(c.assignees) && c.assignees.every(validRule))) return 'invalid assignees'
  if ('recipients' in c && !(Array.isArray(c.recipients) && c.recipients.every(validRule))) return 'invalid recipients'
  if ('mode' in c && c.mode !== null && !validMode(c.mode)) return 'invalid mode'
  if ('call' in c && c.call !== null && !validCall(c.call)) return 'invalid call'
  if ('time_limit' in c && c.time_limit !== null && !validTimeLimit(c.time_limit)) return 'invalid time_limit'
  if ('field_access' in c && !validFieldAccess(c.field_access)) return 'invalid field_access'
  for (const k of ['auto_approve_if_same_handler', 'opinion_required'] as const) {
    if (k in c && typeof c[k] !== 'boolean') return `invalid ${k}`
  }
  return null
}

function processConfigProblem(c: Record<string, unknown>): string | null {
  const unknown = Object.keys(c).filter((k) => !(PROCESS_CONFIG_KEYS as readonly string[]).includes(k))
  if (unknown.length) return `unknown field ${unknown.map((k) => `\`${k}\``).join(', ')}`
  if ('time_limit' in c && c.time_limit !== null && !validTimeLimit(c.time_limit)) return 'invalid time_limit'
  if ('admins' in c && !isStrings(c.admins)) return 'invalid admins'
  return null
}

/** The `<tongban:config>` element of an element, if any (the first, as bpmn.rs reads it). */
export function configElement(el: MElement): MConfig | undefined {
  const ext = (el as MFlowNode).extensionElements
  return ext?.values?.find((v) => v.$type === 'tongban:Config')
}

function readJson(el: MElement, check: (c: Record<string, unknown>) => string | null): Record<string, unknown> {
  const cfg = configElement(el)
  if (!cfg) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse((cfg.body ?? '').trim())
  } catch (e) {
    throw invalid(el, `tongban:config is not valid: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isObject(parsed)) throw invalid(el, 'tongban:config is not valid: not a JSON object')
  const problem = check(parsed)
  if (problem) throw invalid(el, `tongban:config is not valid: ${problem}`)
  return parsed
}

/** A node's config as it stands in the document (throws when it is malformed). */
export function readNodeConfig(el: MElement): NodeConfig {
  return readJson(el, nodeConfigProblem)
}

export function readProcessConfig(el: MElement): ProcessConfig {
  return readJson(el, processConfigProblem)
}

function invalid(el: MElement, message: string): BpmnImportError {
  const id = el.id ?? localName(el.$type)
  return new BpmnImportError('invalid', `element ${id}: ${message}`, [id])
}

function required(el: MElement, value: unknown, attr: string): string {
  if (typeof value === 'string' && value.trim()) return value
  throw invalid(el, `attribute ${attr} is required`)
}

/** `tongban:outcome` of an end event (any prefix bound to a namespace ending in `:outcome`, as bpmn.rs reads it). */
function outcomeOf(el: MElement): string | undefined {
  const known = el.get('tongban:outcome')
  if (typeof known === 'string') return known
  const other = Object.entries(el.$attrs ?? {}).find(([k]) => k.endsWith(':outcome'))
  return other?.[1]
}

const IGNORED_ARTIFACTS = new Set(['bpmn:TextAnnotation', 'bpmn:Association'])

/**
 * Tongban's definition of the document's process, as bpmn.rs's import makes it: unsupported
 * elements are refused in one error listing them all (in document order), a malformed config or
 * a missing attribute in an error naming the element.
 */
export function definitionFromModdle(defs: MDefinitions): ProcessDefinition {
  const process = processOf(defs)
  const pcfg = readProcessConfig(process)
  const nodes: NodeDoc[] = []
  const flows: FlowDoc[] = []
  const unsupported: string[] = []
  const unsupportedIds: string[] = []
  const refuse = (el: MElement) => {
    unsupported.push(`${el.id ?? localName(el.$type)} (${localName(el.$type)})`)
    unsupportedIds.push(el.id ?? localName(el.$type))
  }
  for (const el of process.flowElements ?? []) {
    const node = el as MFlowNode
    let kind: NodeKind
    switch (el.$type) {
      case 'bpmn:SequenceFlow': {
        const f = el as MSequenceFlow
        const cond = f.conditionExpression
        // Without xsi:type the expression is a plain bpmn:Expression, its language an unknown attribute.
        const lang = cond?.language ?? cond?.$attrs?.language
        if (cond && lang && lang.toLowerCase() !== 'cel') {
          throw invalid(el, `condition language ${lang} is not supported; use CEL`)
        }
        const flow: FlowDoc = {
          id: required(el, f.id, 'id'),
          from: required(el, f.sourceRef?.id, 'sourceRef'),
          to: required(el, f.targetRef?.id, 'targetRef'),
        }
        if (typeof f.name === 'string') flow.name = f.name
        const text = (cond?.body ?? '').trim()
        if (text) flow.condition = text
        flows.push(flow)
        continue
      }
      case 'bpmn:StartEvent':
        if (node.eventDefinitions?.length) {
          refuse(el)
          continue
        }
        kind = { type: 'start' }
        break
      case 'bpmn:EndEvent': {
        if (node.eventDefinitions?.length) {
          refuse(el)
          continue
        }
        const outcome = outcomeOf(el)
        if (outcome !== undefined && outcome !== 'completed' && outcome !== 'rejected') {
          throw invalid(el, `unknown outcome ${outcome}`)
        }
        kind = { type: 'end', outcome: outcome === 'rejected' ? 'rejected' : 'completed' }
        break
      }
      case 'bpmn:UserTask': {
        const c = readNodeConfig(el)
        kind = {
          type: 'user_task',
          assignees: c.assignees ?? [],
          mode: c.mode ?? { type: 'single' },
          auto_approve_if_same_handler: c.auto_approve_if_same_handler ?? false,
        }
        if (c.opinion_required) kind.opinion_required = true
        break
      }
      case 'bpmn:SendTask':
        kind = { type: 'cc', recipients: readNodeConfig(el).recipients ?? [] }
        break
      case 'bpmn:ServiceTask': {
        const call = readNodeConfig(el).call
        if (!call) throw invalid(el, 'a service task needs a call in tongban:config')
        kind = { type: 'service_task', call }
        break
      }
      case 'bpmn:ExclusiveGateway':
      case 'bpmn:InclusiveGateway': {
        const type = el.$type === 'bpmn:ExclusiveGateway' ? 'exclusive_gateway' : 'inclusive_gateway'
        kind = node.default?.id ? { type, default_flow: node.default.id } : { type }
        break
      }
      case 'bpmn:ParallelGateway':
        kind = { type: 'parallel_gateway' }
        break
      default:
        refuse(el)
        continue
    }
    const c = readNodeConfig(el)
    const n: NodeDoc = { id: required(el, el.id, 'id'), name: typeof el.name === 'string' ? el.name : '', kind }
    if (c.time_limit) n.time_limit = c.time_limit
    if (c.field_access && Object.keys(c.field_access).length) n.field_access = c.field_access
    nodes.push(n)
  }
  // Text annotations and associations are allowed; any other artifact (a group) is not.
  for (const a of process.artifacts ?? []) if (!IGNORED_ARTIFACTS.has(a.$type)) refuse(a)
  if (unsupported.length) {
    throw new BpmnImportError('unsupported', `unsupported BPMN elements: ${unsupported.join(', ')}`, unsupportedIds)
  }
  const def: ProcessDefinition = {
    key: required(process, process.id, 'id'),
    name: typeof process.name === 'string' ? process.name : '',
    nodes,
    flows,
    admins: pcfg.admins ?? [],
  }
  if (pcfg.time_limit) def.time_limit = pcfg.time_limit
  return def
}

/** Read a BPMN document into a definition, as `POST /processes/import-bpmn` would. */
export async function definitionFromBpmn(xml: string): Promise<ProcessDefinition> {
  return definitionFromModdle(await parseBpmn(xml))
}

/**
 * A definition in the engine's serialized shape (optional members that are empty, false or null
 * left out, `auto_approve_if_same_handler` always given), so that two definitions compare equal
 * exactly when the engine would read them the same.
 */
export function canonicalDefinition(def: ProcessDefinition): ProcessDefinition {
  const kind = (k: NodeKind): NodeKind => {
    switch (k.type) {
      case 'user_task': {
        const out: NodeKind = {
          type: 'user_task',
          assignees: k.assignees,
          mode: k.mode,
          auto_approve_if_same_handler: k.auto_approve_if_same_handler ?? false,
        }
        if (k.opinion_required) out.opinion_required = true
        return out
      }
      case 'exclusive_gateway':
      case 'inclusive_gateway':
        return k.default_flow ? { type: k.type, default_flow: k.default_flow } : { type: k.type }
      default:
        return k
    }
  }
  const out: ProcessDefinition = {
    key: def.key,
    name: def.name,
    nodes: def.nodes.map((n) => {
      const c: NodeDoc = { id: n.id, name: n.name, kind: kind(n.kind) }
      if (n.time_limit) c.time_limit = n.time_limit
      if (n.field_access && Object.keys(n.field_access).length) c.field_access = n.field_access
      return c
    }),
    flows: def.flows.map((f) => {
      const c: FlowDoc = { id: f.id, from: f.from, to: f.to }
      if (f.name != null) c.name = f.name
      if (f.condition != null) c.condition = f.condition
      return c
    }),
    admins: def.admins ?? [],
  }
  if (def.time_limit) out.time_limit = def.time_limit
  return sortKeys(out)
}

function sortKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(sortKeys) as T
  if (!isObject(v)) return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  ) as T
}

/** Whether two definitions mean the same to the engine. */
export function sameDefinition(a: ProcessDefinition, b: ProcessDefinition): boolean {
  return JSON.stringify(canonicalDefinition(a)) === JSON.stringify(canonicalDefinition(b))
}

/** The config a node kind carries in `<tongban:config>`, as bpmn.rs's export writes it. */
export function nodeConfigOf(n: NodeDoc): NodeConfig {
  const c: NodeConfig = {}
  const k = n.kind
  if (k.type === 'user_task') {
    if (k.assignees.length) c.assignees = k.assignees
    c.mode = k.mode
    if (k.auto_approve_if_same_handler) c.auto_approve_if_same_handler = true
    if (k.opinion_required) c.opinion_required = true
  } else if (k.type === 'service_task') {
    c.call = k.call
  } else if (k.type === 'cc') {
    if (k.recipients.length) c.recipients = k.recipients
  }
  if (n.time_limit) c.time_limit = n.time_limit
  if (n.field_access && Object.keys(n.field_access).length) c.field_access = n.field_access
  return c
}

/** Box sizes of the shapes bpmn-js draws. */
export function shapeSize(kind: NodeKind['type']): { width: number; height: number } {
  if (kind === 'start' || kind === 'end') return { width: 36, height: 36 }
  if (kind.endsWith('_gateway')) return { width: 50, height: 50 }
  return { width: 100, height: 80 }
}

export interface Point {
  x: number
  y: number
}

/**
 * A left-to-right layout for a definition without a diagram: columns by the longest path from the
 * start (loops back ignored), the first flow out of a node staying on its row and further branches
 * below it, so the main path reads as one line.
 */
export function layout(def: ProcessDefinition): Map<string, Point> {
  const ids = def.nodes.map((n) => n.id)
  const known = new Set(ids)
  const out = (id: string) => def.flows.filter((f) => f.from === id && known.has(f.to))
  const start = def.nodes.find((n) => n.kind.type === 'start')?.id ?? ids[0]
  // Flows that close a loop (found depth first) do not count for the columns.
  const back = new Set<string>()
  const state = new Map<string, 'open' | 'done'>()
  const visit = (id: string) => {
    state.set(id, 'open')
    for (const f of out(id)) {
      const s = state.get(f.to)
      if (s === 'open') back.add(f.id)
      else if (!s) visit(f.to)
    }
    state.set(id, 'done')
  }
  if (start) visit(start)
  for (const id of ids) if (!state.has(id)) visit(id)
  const forward = def.flows.filter((f) => !back.has(f.id) && known.has(f.from) && known.has(f.to))
  // Longest path over the flows left (Kahn's order).
  const column = new Map<string, number>(ids.map((id) => [id, 0]))
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]))
  for (const f of forward) indegree.set(f.to, (indegree.get(f.to) ?? 0) + 1)
  const queue = ids.filter((id) => indegree.get(id) === 0)
  while (queue.length) {
    const id = queue.shift() as string
    for (const f of forward.filter((g) => g.from === id)) {
      column.set(f.to, Math.max(column.get(f.to) ?? 0, (column.get(id) ?? 0) + 1))
      indegree.set(f.to, (indegree.get(f.to) ?? 1) - 1)
      if (indegree.get(f.to) === 0) queue.push(f.to)
    }
  }
  // Rows: breadth first from the start, the n-th branch n rows below its source.
  const row = new Map<string, number>()
  const order: string[] = []
  const seed = (id: string, r: number) => {
    if (row.has(id)) return
    row.set(id, r)
    order.push(id)
  }
  if (start) seed(start, 0)
  for (let i = 0; i < order.length || row.size < ids.length; i++) {
    if (i >= order.length) seed(ids.find((id) => !row.has(id)) as string, Math.max(0, ...row.values()) + 1)
    const id = order[i] as string
    forward
      .filter((f) => f.from === id)
      .forEach((f, k) => seed(f.to, (row.get(id) ?? 0) + k))
  }
  // Two nodes of one column never share a row.
  const taken = new Set<string>()
  const pos = new Map<string, Point>()
  for (const id of order) {
    const c = column.get(id) ?? 0
    let r = row.get(id) ?? 0
    while (taken.has(`${c}:${r}`)) r++
    taken.add(`${c}:${r}`)
    const n = def.nodes.find((x) => x.id === id)
    const { width, height } = shapeSize(n?.kind.type ?? 'user_task')
    pos.set(id, { x: 100 + c * 170 + (100 - width) / 2, y: 100 + r * 130 + (80 - height) / 2 })
  }
  return pos
}

/** Waypoints of a flow between two shapes: straight on one row, else with right-angled bends. */
function route(a: Point & { width: number; height: number }, b: Point & { width: number; height: number }, bottom: number): Point[] {
  const ay = a.y + a.height / 2
  const by = b.y + b.height / 2
  if (b.x > a.x + a.width) {
    const ax = a.x + a.width
    if (ay === by) return [{ x: ax, y: ay }, { x: b.x, y: by }]
    // Leave a gateway or event downwards or upwards, a task at its right.
    if (a.width <= 50) {
      const ax2 = a.x + a.width / 2
      return [{ x: ax2, y: by > ay ? a.y + a.height : a.y }, { x: ax2, y: by }, { x: b.x, y: by }]
    }
    const mx = Math.round(ax + (b.x - ax) / 2)
    return [{ x: ax, y: ay }, { x: mx, y: ay }, { x: mx, y: by }, { x: b.x, y: by }]
  }
  // Back to an earlier column: below everything.
  const ax = a.x + a.width / 2
  const bx = b.x + b.width / 2
  return [{ x: ax, y: a.y + a.height }, { x: ax, y: bottom }, { x: bx, y: bottom }, { x: bx, y: b.y + b.height }]
}

/**
 * A BPMN document of a definition with a diagram (bpmn.rs's export, written by bpmn-moddle):
 * shapes at `positions` where given, else laid out left to right.
 */
export async function bpmnFromDefinition(def: ProcessDefinition, positions?: Map<string, Point>): Promise<string> {
  const m = createModdle()
  const config = (json: object) => {
    const cfg = m.create('tongban:Config', { body: JSON.stringify(json) })
    return m.create('bpmn:ExtensionElements', { values: [cfg] })
  }
  const byId = new Map<string, MFlowNode>()
  const elements: MElement[] = []
  for (const n of def.nodes) {
    const attrs: Record<string, unknown> = { id: n.id, name: n.name }
    const cfg = nodeConfigOf(n)
    if (Object.keys(cfg).length) attrs.extensionElements = config(cfg)
    const el = m.create(TAG_OF_KIND[n.kind.type], attrs) as MFlowNode
    if (n.kind.type === 'end' && n.kind.outcome === 'rejected') el.set('tongban:outcome', 'rejected')
    el.set('incoming', [])
    el.set('outgoing', [])
    byId.set(n.id, el)
    elements.push(el)
  }
  const flowEls = new Map<string, MSequenceFlow>()
  for (const f of def.flows) {
    const attrs: Record<string, unknown> = { id: f.id, sourceRef: byId.get(f.from), targetRef: byId.get(f.to) }
    if (f.name != null) attrs.name = f.name
    if (f.condition != null) attrs.conditionExpression = m.create('bpmn:FormalExpression', { body: f.condition, language: 'cel' })
    const el = m.create('bpmn:SequenceFlow', attrs) as MSequenceFlow
    ;(byId.get(f.from)?.get('outgoing') as MElement[] | undefined)?.push(el)
    ;(byId.get(f.to)?.get('incoming') as MElement[] | undefined)?.push(el)
    flowEls.set(f.id, el)
    elements.push(el)
  }
  for (const n of def.nodes) {
    if ((n.kind.type === 'exclusive_gateway' || n.kind.type === 'inclusive_gateway') && n.kind.default_flow) {
      const d = flowEls.get(n.kind.default_flow)
      if (d) byId.get(n.id)?.set('default', d)
    }
  }
  const pcfg: ProcessConfig = {}
  if (def.time_limit) pcfg.time_limit = def.time_limit
  if (def.admins?.length) pcfg.admins = def.admins
  const proc = m.create('bpmn:Process', {
    id: def.key,
    name: def.name,
    isExecutable: true,
    flowElements: elements,
    ...(Object.keys(pcfg).length ? { extensionElements: config(pcfg) } : {}),
  })
  const auto = layout(def)
  const at = (id: string) => positions?.get(id) ?? auto.get(id) ?? { x: 0, y: 0 }
  const planeElements: MElement[] = []
  for (const n of def.nodes) {
    const { width, height } = shapeSize(n.kind.type)
    const { x, y } = at(n.id)
    planeElements.push(
      m.create('bpmndi:BPMNShape', {
        id: `${n.id}_di`,
        bpmnElement: byId.get(n.id),
        bounds: m.create('dc:Bounds', { x, y, width, height }),
      }),
    )
  }
  const kindOf = new Map(def.nodes.map((n) => [n.id, n.kind.type]))
  const box = (id: string) => ({ ...at(id), ...shapeSize(kindOf.get(id) ?? 'user_task') })
  const bottom = Math.max(0, ...def.nodes.map((n) => box(n.id).y + box(n.id).height)) + 40
  for (const f of def.flows) {
    planeElements.push(
      m.create('bpmndi:BPMNEdge', {
        id: `${f.id}_di`,
        bpmnElement: flowEls.get(f.id),
        waypoint: route(box(f.from), box(f.to), bottom).map((p) => m.create('dc:Point', { x: p.x, y: p.y })),
      }),
    )
  }
  const plane = m.create('bpmndi:BPMNPlane', { id: `BPMNPlane_${def.key}`, bpmnElement: proc, planeElement: planeElements })
  const diagram = m.create('bpmndi:BPMNDiagram', { id: `BPMNDiagram_${def.key}`, plane })
  const defs = m.create('bpmn:Definitions', {
    id: `Definitions_${def.key}`,
    targetNamespace: 'https://tongban.dev/processes',
    exporter: 'Tongban',
    exporterVersion: '1',
    rootElements: [proc],
    diagrams: [diagram],
  })
  if (defs.$attrs) defs.$attrs['xmlns:tongban'] = TONGBAN_NS
  return (await m.toXML(defs, { format: true })).xml
}

export type { AssigneeRule }
