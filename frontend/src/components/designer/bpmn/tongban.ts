import type { Schema } from '@/api'

/** Tongban's BPMN extension namespace (`backend/engine/src/bpmn.rs`, `TONGBAN_NS`). */
export const TONGBAN_NS = 'https://tongban.dev/schema/bpmn/1.0'
export const BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL'

/**
 * The moddle package for `tongban:config` (JSON of what BPMN cannot say, as the element's text)
 * and `tongban:outcome` on end events. With it, bpmn-moddle reads and writes both by namespace,
 * whatever prefix a document uses.
 */
export const tongbanModdle = {
  name: 'Tongban',
  prefix: 'tongban',
  uri: TONGBAN_NS,
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    { name: 'Config', superClass: ['Element'], properties: [{ name: 'body', type: 'String', isBody: true }] },
    { name: 'EndOutcome', extends: ['bpmn:EndEvent'], properties: [{ name: 'outcome', type: 'String', isAttr: true }] },
  ],
}

export type ProcessDefinition = Schema<'ProcessDefinitionDoc'>
export type NodeDoc = Schema<'NodeDoc'>
export type NodeKind = Schema<'NodeKindDoc'>
export type FlowDoc = Schema<'FlowDoc'>
export type AssigneeRule = Schema<'AssigneeRuleDoc'>
export type DepartmentRef = Schema<'DepartmentRefDoc'>
export type HandlingMode = Schema<'HandlingModeDoc'>
export type Completion = Schema<'CompletionDoc'>
export type ServiceCall = Schema<'ServiceCallDoc'>
export type TimeLimit = Schema<'TimeLimitDoc'>
export type TimeUnit = Schema<'TimeUnitDoc'>
export type FieldAccess = Schema<'FieldAccessDoc'>
export type FormDefinition = Schema<'FormDefinitionDoc'>
export type FieldDef = Schema<'FieldDefDoc'>
export type EndOutcome = Schema<'EndOutcomeDoc'>

/**
 * What a node's `<tongban:config>` carries (`NodeConfig` in bpmn.rs, which refuses unknown keys):
 * assignees, mode and opinions of user tasks, the call of service tasks, the recipients of CC
 * nodes, and the time limit and field access of any node.
 */
export interface NodeConfig {
  assignees?: AssigneeRule[]
  mode?: HandlingMode
  auto_approve_if_same_handler?: boolean
  opinion_required?: boolean
  call?: ServiceCall
  recipients?: AssigneeRule[]
  time_limit?: TimeLimit
  field_access?: Record<string, FieldAccess>
}

/** The process's `<tongban:config>` (`ProcessConfig` in bpmn.rs): its time limit and administrators. */
export interface ProcessConfig {
  time_limit?: TimeLimit
  admins?: string[]
}

export const NODE_CONFIG_KEYS = [
  'assignees',
  'mode',
  'auto_approve_if_same_handler',
  'opinion_required',
  'call',
  'recipients',
  'time_limit',
  'field_access',
] as const satisfies readonly (keyof NodeConfig)[]
export const PROCESS_CONFIG_KEYS = ['time_limit', 'admins'] as const satisfies readonly (keyof ProcessConfig)[]

/** The BPMN element of each node kind, as bpmn.rs exports and imports them. */
export const TAG_OF_KIND: Record<NodeKind['type'], string> = {
  start: 'bpmn:StartEvent',
  end: 'bpmn:EndEvent',
  user_task: 'bpmn:UserTask',
  cc: 'bpmn:SendTask',
  service_task: 'bpmn:ServiceTask',
  exclusive_gateway: 'bpmn:ExclusiveGateway',
  inclusive_gateway: 'bpmn:InclusiveGateway',
  parallel_gateway: 'bpmn:ParallelGateway',
}

export const TIME_UNITS: TimeUnit[] = ['working_days', 'working_hours', 'hours']
export const FIELD_ACCESS: FieldAccess[] = ['editable', 'required', 'read_only', 'hidden']
export const POSITION_KINDS: Schema<'PositionKind'>[] = ['president', 'secretary', 'supervising_leader', 'department_head', 'counsellor']
export const RULE_TYPES: AssigneeRule['type'][] = [
  'users',
  'role',
  'position',
  'applicant_department_head',
  'department_head',
  'supervising_leader',
  'class_counsellor',
  'form_field',
  'applicant_picks',
  'previous_handler_leader',
]
