// What the properties panel needs of bpmn-js: a plain view of the selected element, and changes
// made through bpmn-js's modeling commands, so that every change is undoable and marks the diagram
// changed. The panel itself knows nothing of bpmn-js.
import type { MConfig, MElement, MExtensionElements, MFlowNode, MSequenceFlow } from './elements'
import { KIND_OF_TYPE, type DiagramElement } from './modules'
import { configElement, nodeConfigProblem, readNodeConfig, readProcessConfig } from './convert'
import type { NodeConfig, ProcessConfig } from './tongban'

export type ElementKind =
  | 'process'
  | 'start'
  | 'end'
  | 'user_task'
  | 'cc'
  | 'service_task'
  | 'exclusive_gateway'
  | 'inclusive_gateway'
  | 'parallel_gateway'
  | 'flow'
  | 'other'

/** The selected element as the properties panel shows it. */
export interface ElementView {
  id: string
  kind: ElementKind
  /** The bpmn-js type, for elements Tongban does not run (`bpmn:Task`, …). */
  type: string
  name: string
  /** `<tongban:config>` of a node; the process's for `process`. */
  config: NodeConfig & ProcessConfig
  /** Why the config could not be read (it is then shown, not overwritten silently). */
  configProblem: string | null
  /** End events: `tongban:outcome`. */
  outcome: 'completed' | 'rejected'
  /** Flows: the CEL condition, and whether the flow leaves a gateway that takes conditions. */
  condition: string
  conditional: boolean
  /** Flows: the default flow of their gateway. */
  isDefault: boolean
  /** Gateways: their outgoing flows and the default one. */
  outgoing: { id: string; name: string; target: string }[]
  defaultFlow: string | null
}

interface Modeling {
  updateProperties(element: DiagramElement, props: Record<string, unknown>): void
  updateModdleProperties(element: DiagramElement, moddle: MElement, props: Record<string, unknown>): void
  updateLabel(element: DiagramElement, text: string): void
}
interface BpmnFactory {
  create(type: string, attrs?: Record<string, unknown>): MElement
}
interface ElementRegistry {
  get(id: string): DiagramElement | undefined
  getAll(): DiagramElement[]
}
interface Canvas {
  getRootElement(): DiagramElement
  addMarker(element: DiagramElement | string, marker: string): void
  removeMarker(element: DiagramElement | string, marker: string): void
  scrollToElement(element: DiagramElement | string): void
  zoom(level?: number | 'fit-viewport', center?: unknown): number
}
interface Selection {
  select(element: DiagramElement | DiagramElement[] | null): void
  get(): DiagramElement[]
}
export interface ServiceHost {
  get(name: string): unknown
}

const GATEWAY_WITH_CONDITIONS = new Set(['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'])

export class DesignerBridge {
  constructor(private readonly host: ServiceHost) {}

  private get modeling() {
    return this.host.get('modeling') as Modeling
  }
  private get factory() {
    return this.host.get('bpmnFactory') as BpmnFactory
  }
  get registry() {
    return this.host.get('elementRegistry') as ElementRegistry
  }
  get canvas() {
    return this.host.get('canvas') as Canvas
  }
  get selection() {
    return this.host.get('selection') as Selection
  }

  /** The element by id (a shape or flow, not a label); the process for the root. */
  element(id: string): DiagramElement | undefined {
    const root = this.canvas.getRootElement()
    if (id === root.id || id === root.businessObject.id) return root
    const el = this.registry.get(id)
    return el?.labelTarget ?? el
  }

  view(element: DiagramElement): ElementView {
    const bo = element.businessObject
    const kind = (KIND_OF_TYPE[element.type] ?? 'other') as ElementKind
    let config: NodeConfig & ProcessConfig = {}
    let configProblem: string | null = null
    try {
      config = kind === 'process' ? readProcessConfig(bo) : kind === 'flow' ? {} : readNodeConfig(bo)
    } catch (e) {
      configProblem = e instanceof Error ? e.message : String(e)
    }
    const flow = bo as MSequenceFlow
    const source = element.source?.businessObject
    const outcome = bo.get('tongban:outcome') === 'rejected' ? 'rejected' : 'completed'
    const outgoing =
      kind === 'exclusive_gateway' || kind === 'inclusive_gateway'
        ? (element.outgoing ?? []).map((f) => ({
            id: f.id,
            name: typeof f.businessObject.name === 'string' ? f.businessObject.name : '',
            target: typeof f.target?.businessObject.name === 'string' && f.target.businessObject.name ? f.target.businessObject.name : (f.target?.id ?? ''),
          }))
        : []
    return {
      id: bo.id ?? element.id,
      kind,
      type: element.type,
      name: typeof bo.name === 'string' ? bo.name : '',
      config,
      configProblem,
      outcome,
      condition: kind === 'flow' ? (flow.conditionExpression?.body ?? '') : '',
      conditional: kind === 'flow' && !!source && GATEWAY_WITH_CONDITIONS.has(source.$type),
      isDefault: kind === 'flow' && !!source && source.default === bo,
      outgoing,
      defaultFlow: (bo as MFlowNode).default?.id ?? null,
    }
  }

  setName(element: DiagramElement, name: string) {
    if (element === this.canvas.getRootElement()) this.modeling.updateModdleProperties(element, element.businessObject, { name })
    else this.modeling.updateLabel(element, name)
  }

  /** Rename an element's id (unique, as bpmn-js checks). Returns false when the id is taken. */
  setId(element: DiagramElement, id: string): boolean {
    if (this.registry.get(id) && this.registry.get(id) !== element) return false
    this.modeling.updateProperties(element, { id })
    return true
  }

  /** Write `<tongban:config>`: created when missing, removed when empty. */
  setConfig(element: DiagramElement, config: NodeConfig | ProcessConfig) {
    const body = serializeConfig(config)
    const bo = element.businessObject as MFlowNode
    const ext = bo.extensionElements
    const current = configElement(bo)
    if (!body) {
      if (ext && current) {
        const values = (ext.values ?? []).filter((v) => v !== current)
        if (values.length) this.modeling.updateModdleProperties(element, ext, { values })
        else this.modeling.updateModdleProperties(element, bo, { extensionElements: undefined })
      }
      return
    }
    if (current) {
      this.modeling.updateModdleProperties(element, current, { body })
      return
    }
    const cfg = this.factory.create('tongban:Config', { body }) as MConfig
    if (ext) {
      this.modeling.updateModdleProperties(element, ext, { values: [...(ext.values ?? []), cfg] })
    } else {
      const created = this.factory.create('bpmn:ExtensionElements', { values: [cfg] }) as MExtensionElements
      cfg.$parent = created
      this.modeling.updateModdleProperties(element, bo, { extensionElements: created })
    }
  }

  setOutcome(element: DiagramElement, outcome: 'completed' | 'rejected') {
    // Completed is the default: written only when rejected, as the server's export does.
    this.modeling.updateModdleProperties(element, element.businessObject, { 'tongban:outcome': outcome === 'rejected' ? 'rejected' : undefined })
  }

  /** A flow's CEL condition; empty removes it. */
  setCondition(element: DiagramElement, condition: string) {
    const text = condition.trim()
    if (!text) {
      this.modeling.updateProperties(element, { conditionExpression: undefined })
      return
    }
    const expr = this.factory.create('bpmn:FormalExpression', { body: text, language: 'cel' })
    this.modeling.updateProperties(element, { conditionExpression: expr })
  }

  /** Make `flowId` (or none) the default flow of a gateway. */
  setDefaultFlow(gateway: DiagramElement, flowId: string | null) {
    const flow = flowId ? this.registry.get(flowId) : undefined
    this.modeling.updateProperties(gateway, { default: flow?.businessObject })
  }

  select(id: string) {
    const el = this.element(id)
    if (!el) return false
    if (el !== this.canvas.getRootElement()) {
      this.selection.select(el)
      this.canvas.scrollToElement(el)
    } else this.selection.select(null)
    return true
  }

  /** Mark elements (validation problems, unsupported elements); clears the previous marks. */
  mark(ids: Iterable<string>, marker: string) {
    for (const el of this.registry.getAll()) this.canvas.removeMarker(el, marker)
    for (const id of ids) {
      const el = this.registry.get(id)
      if (el) this.canvas.addMarker(el, marker)
    }
  }

  /** Mark the end events that reject (不予办理), so the diagram tells them apart. */
  markOutcomes() {
    for (const el of this.registry.getAll()) {
      if (el.type !== 'bpmn:EndEvent') continue
      if (el.businessObject.get('tongban:outcome') === 'rejected') this.canvas.addMarker(el, 'tb-end-rejected')
      else this.canvas.removeMarker(el, 'tb-end-rejected')
    }
  }
}

/**
 * The JSON of `<tongban:config>` for a config: empty members left out (as bpmn.rs writes them),
 * keys in a stable order; '' when nothing is left.
 */
export function serializeConfig(config: NodeConfig | ProcessConfig): string {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null || v === false) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue
    out[k] = v
  }
  return Object.keys(out).length ? JSON.stringify(out) : ''
}

export { nodeConfigProblem }
