// The moddle elements (bpmn-moddle's object tree of a BPMN document) as far as the designer reads
// and writes them. Moddle objects carry more; these are the properties Tongban's subset uses.

/** Any moddle element: its `$type` (`bpmn:UserTask`), attributes it does not know, and the rest. */
export interface MElement {
  $type: string
  $attrs?: Record<string, string>
  $parent?: MElement
  id?: string
  name?: string
  get(name: string): unknown
  set(name: string, value: unknown): void
  [key: string]: unknown
}

export interface MConfig extends MElement {
  /** The JSON text of `<tongban:config>`. */
  body?: string
}

export interface MExtensionElements extends MElement {
  values?: MElement[]
}

export interface MFlowNode extends MElement {
  extensionElements?: MExtensionElements
  eventDefinitions?: MElement[]
  /** The default flow of a gateway. */
  default?: MElement
}

export interface MSequenceFlow extends MElement {
  sourceRef?: MElement
  targetRef?: MElement
  conditionExpression?: MElement & { body?: string; language?: string }
}

export interface MProcess extends MElement {
  extensionElements?: MExtensionElements
  flowElements?: MElement[]
  artifacts?: MElement[]
  laneSets?: MElement[]
}

export interface MDefinitions extends MElement {
  rootElements?: MElement[]
  diagrams?: MElement[]
}

/** `bpmn:UserTask` → `userTask`: the element's name as written in the XML. */
export function localName(type: string): string {
  const name = type.includes(':') ? type.slice(type.indexOf(':') + 1) : type
  return name.charAt(0).toLowerCase() + name.slice(1)
}
