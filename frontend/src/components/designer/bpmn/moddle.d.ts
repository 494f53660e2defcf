// bpmn-moddle ships types for its elements only (`bpmn-moddle/types`), not for the class itself:
// the little of it the designer uses, typed here.
declare module 'bpmn-moddle' {
  import type { MElement } from '@/components/designer/bpmn/elements'

  export interface FromXmlResult {
    rootElement: MElement
    warnings: { message: string }[]
  }

  export class BpmnModdle {
    constructor(packages?: Record<string, unknown>)
    fromXML(xml: string, typeName?: string): Promise<FromXmlResult>
    toXML(element: MElement, options?: { format?: boolean; preamble?: boolean }): Promise<{ xml: string }>
    create(type: string, attrs?: Record<string, unknown>): MElement
    getType(type: string): unknown
  }
}
