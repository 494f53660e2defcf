// bpmn-js modules of the designer: Chinese (or English) labels for bpmn-js's own texts, and a
// palette, context pad and "change element" menu that offer only what Tongban runs (bpmn.rs:
// start and end events, user tasks, CC as send tasks, service tasks, exclusive, parallel and
// inclusive gateways, sequence flows, text annotations). Everything else would be refused when
// saving, so it is never offered.
import { currentLocale } from '@/locales'

import type { MElement } from './elements'

/** A diagram element (shape or connection) as bpmn-js hands it out. */
export interface DiagramElement {
  id: string
  type: string
  businessObject: MElement
  parent?: DiagramElement
  source?: DiagramElement
  target?: DiagramElement
  incoming?: DiagramElement[]
  outgoing?: DiagramElement[]
  labelTarget?: DiagramElement
  waypoints?: unknown[]
  x?: number
  y?: number
  width?: number
  height?: number
}

type Entries = Record<string, unknown>
type EntryFilter = (entries: Entries) => Entries
interface Provider {
  registerProvider(priority: number, provider: unknown): void
}
interface PopupProviderHost {
  registerProvider(id: string, priority: number, provider: unknown): void
}
interface ElementFactory {
  createShape(attrs: { type: string }): DiagramElement
}
interface Create {
  start(event: unknown, shape: DiagramElement, context?: unknown): void
}
interface AutoPlace {
  append(source: DiagramElement, shape: DiagramElement): void
}
type Translate = (text: string, replacements?: Record<string, string>) => string

const ZH: Record<string, string> = {
  'Activate hand tool': '抓手工具：拖动画布',
  'Activate lasso tool': '套索工具：框选元素',
  'Activate create/remove space tool': '空间工具：插入或删除空白',
  'Activate global connect tool': '连线工具',
  'Create start event': '开始（申请人提交）',
  'Create end event': '结束',
  'Create gateway': '排他网关（按条件选一条路）',
  'Create exclusive gateway': '排他网关（按条件选一条路）',
  'Create parallel gateway': '并行网关（分支同时进行 / 汇合）',
  'Create inclusive gateway': '包容网关（条件成立的分支都走）',
  'Create user task': '审批节点（用户任务）',
  'Create CC task': '抄送节点',
  'Create service task': '服务节点（出证、通知、Webhook）',
  'Append end event': '追加结束',
  'Append gateway': '追加排他网关',
  'Append user task': '追加审批节点',
  'Append CC task': '追加抄送节点',
  'Append service task': '追加服务节点',
  'Add text annotation': '添加注释',
  'Append text annotation': '添加注释',
  'Connect to other element': '连线到其他元素',
  'Connect using association': '用关联连线',
  'Change element': '更改类型',
  Delete: '删除',
  'Search in diagram': '在流程图中查找',
  'Start event': '开始',
  'End event': '结束',
  'User task': '审批节点（用户任务）',
  'Send task': '抄送节点',
  'Service task': '服务节点',
  'Exclusive gateway': '排他网关',
  'Parallel gateway': '并行网关',
  'Inclusive gateway': '包容网关',
  'Sequence flow': '普通连线',
  'Default flow': '默认连线',
  'Conditional flow': '条件连线',
  'Align elements': '对齐',
  'Align elements left': '左对齐',
  'Align elements right': '右对齐',
  'Align elements center': '水平居中',
  'Align elements top': '顶端对齐',
  'Align elements bottom': '底端对齐',
  'Align elements middle': '垂直居中',
  'Distribute elements horizontally': '水平等距分布',
  'Distribute elements vertically': '垂直等距分布',
  'no parent for {element} in {parent}': '{parent} 中没有 {element} 的父元素',
  'no shape type specified': '未指定图形类型',
  'flow elements must be children of pools/participants': '流程元素须位于泳池中',
  'out of bounds release': '已超出范围',
  'more than {count} child lanes': '子泳道超过 {count} 个',
  'element required': '需要元素',
  'diagram not part of bpmn:Definitions': '流程图不属于 bpmn:Definitions',
  'no diagram to display': '没有可显示的流程图',
  'no process or collaboration to display': '没有可显示的流程',
  'element {element} referenced by {referenced}#{property} not yet drawn': '{referenced}#{property} 引用的元素 {element} 尚未绘制',
  'already rendered {element}': '{element} 已绘制',
  'failed to import {element}': '无法导入 {element}',
}

/** bpmn-js's `translate` in the UI language (bpmn-js texts are English; Chinese from ZH). */
export function tongbanTranslate(template: string, replacements: Record<string, string> = {}): string {
  const text = currentLocale() === 'en' ? template : (ZH[template] ?? template)
  return text.replace(/{([^}]+)}/g, (_, key: string) => replacements[key] ?? `{${key}}`)
}

export const translateModule = { translate: ['value', tongbanTranslate] }

/** The palette's and context pad's create actions, bpmn-js's way. */
function actions(elementFactory: ElementFactory, create: Create, autoPlace: AutoPlace | null) {
  const make = (type: string) => elementFactory.createShape({ type })
  return {
    create(type: string, group: string, className: string, title: string) {
      const start = (event: unknown) => create.start(event, make(type))
      return { group, className, title, action: { dragstart: start, click: start } }
    },
    append(type: string, className: string, title: string) {
      const start = (event: unknown, source: DiagramElement) => create.start(event, make(type), { source })
      const click = autoPlace ? (_event: unknown, source: DiagramElement) => autoPlace.append(source, make(type)) : start
      return { group: 'model', className, title, action: { dragstart: start, click } }
    },
  }
}

const PALETTE_KEEP = ['hand-tool', 'lasso-tool', 'space-tool', 'global-connect-tool', 'tool-separator', 'create.start-event', 'create.end-event']

class TongbanPalette {
  static $inject = ['palette', 'create', 'elementFactory', 'translate']
  private readonly a: ReturnType<typeof actions>
  constructor(
    palette: Provider,
    create: Create,
    elementFactory: ElementFactory,
    private readonly translate: Translate,
  ) {
    this.a = actions(elementFactory, create, null)
    // After bpmn-js's own provider (priority 1000): it filters what that one offered.
    palette.registerProvider(500, this)
  }
  getPaletteEntries(): EntryFilter {
    const t = this.translate
    return (entries) => {
      const kept = Object.fromEntries(Object.entries(entries).filter(([k]) => PALETTE_KEEP.includes(k)))
      return {
        ...kept,
        'create.exclusive-gateway': this.a.create('bpmn:ExclusiveGateway', 'gateway', 'bpmn-icon-gateway-xor', t('Create exclusive gateway')),
        'create.parallel-gateway': this.a.create('bpmn:ParallelGateway', 'gateway', 'bpmn-icon-gateway-parallel', t('Create parallel gateway')),
        'create.inclusive-gateway': this.a.create('bpmn:InclusiveGateway', 'gateway', 'bpmn-icon-gateway-or', t('Create inclusive gateway')),
        'create.user-task': this.a.create('bpmn:UserTask', 'activity', 'bpmn-icon-user-task', t('Create user task')),
        'create.send-task': this.a.create('bpmn:SendTask', 'activity', 'bpmn-icon-send-task', t('Create CC task')),
        'create.service-task': this.a.create('bpmn:ServiceTask', 'activity', 'bpmn-icon-service-task', t('Create service task')),
      }
    }
  }
}

const PAD_KEEP = ['append.end-event', 'append.gateway', 'append.text-annotation', 'connect', 'delete', 'replace']

class TongbanContextPad {
  static $inject = ['contextPad', 'create', 'elementFactory', 'injector', 'translate']
  private readonly a: ReturnType<typeof actions>
  constructor(
    contextPad: Provider,
    create: Create,
    elementFactory: ElementFactory,
    injector: { get(name: string, strict: boolean): unknown },
    private readonly translate: Translate,
  ) {
    this.a = actions(elementFactory, create, (injector.get('autoPlace', false) as AutoPlace | null) ?? null)
    contextPad.registerProvider(500, this)
  }
  getContextPadEntries(element: DiagramElement): EntryFilter {
    const t = this.translate
    return (entries) => {
      const kept = Object.fromEntries(Object.entries(entries).filter(([k]) => PAD_KEEP.includes(k)))
      // Where bpmn-js offers to append (not after an end event, not on flows), offer Tongban's nodes.
      if (!('append.gateway' in entries) || element.type === 'bpmn:EndEvent') return kept
      return {
        'append.user-task': this.a.append('bpmn:UserTask', 'bpmn-icon-user-task', t('Append user task')),
        'append.send-task': this.a.append('bpmn:SendTask', 'bpmn-icon-send-task', t('Append CC task')),
        'append.service-task': this.a.append('bpmn:ServiceTask', 'bpmn-icon-service-task', t('Append service task')),
        ...kept,
      }
    }
  }
}

/** "Change element" offers only Tongban's kinds (and the default/conditional flow switches). */
const REPLACE_KEEP = new Set([
  'replace-with-none-start',
  'replace-with-none-end',
  'replace-with-user-task',
  'replace-with-send-task',
  'replace-with-service-task',
  'replace-with-exclusive-gateway',
  'replace-with-parallel-gateway',
  'replace-with-inclusive-gateway',
  'replace-with-default-flow',
  'replace-with-conditional-flow',
  'replace-with-sequence-flow',
])

class TongbanReplaceMenu {
  static $inject = ['popupMenu']
  constructor(popupMenu: PopupProviderHost) {
    popupMenu.registerProvider('bpmn-replace', 500, this)
  }
  getPopupMenuEntries(): EntryFilter {
    return (entries) => Object.fromEntries(Object.entries(entries).filter(([k]) => REPLACE_KEEP.has(k)))
  }
  // Loop, multi-instance, compensation and ad-hoc toggles: Tongban has none of them.
  getPopupMenuHeaderEntries(): EntryFilter {
    return () => ({})
  }
}

export const tongbanDesignModule = {
  __init__: ['tongbanPalette', 'tongbanContextPad', 'tongbanReplaceMenu'],
  tongbanPalette: ['type', TongbanPalette],
  tongbanContextPad: ['type', TongbanContextPad],
  tongbanReplaceMenu: ['type', TongbanReplaceMenu],
}

/** Element types the designer's properties panel knows, by bpmn-js type. */
export const KIND_OF_TYPE: Record<string, string> = {
  'bpmn:StartEvent': 'start',
  'bpmn:EndEvent': 'end',
  'bpmn:UserTask': 'user_task',
  'bpmn:SendTask': 'cc',
  'bpmn:ServiceTask': 'service_task',
  'bpmn:ExclusiveGateway': 'exclusive_gateway',
  'bpmn:InclusiveGateway': 'inclusive_gateway',
  'bpmn:ParallelGateway': 'parallel_gateway',
  'bpmn:SequenceFlow': 'flow',
  'bpmn:Process': 'process',
}
