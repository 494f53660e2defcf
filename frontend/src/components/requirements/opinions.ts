import type { Schema } from '@/api'

type Plan = Schema<'PlanView'>
type Opinion = Schema<'OpinionView'>

/** One opinion box of the 网上办事流程建设需求计划审批表, in the form's order. */
export interface OpinionBox {
  /** Node of the built-in process `process_requirement_plan` whose opinions it shows. */
  node: string
  /** i18n key of its caption (申请部门意见, …). */
  caption: string
  /** The related department it is for (流程相关职能部门意见: one box per department). */
  department?: string
  /** Opinions given, oldest first (a returned step is signed again). */
  opinions: Opinion[]
  /** 无需签署: the president's and secretary's boxes when the process has no such steps (注3). */
  notRequired: boolean
}

/** The nodes of the approval chain in the order the attachment prints their boxes. */
export const OPINION_NODES = ['applying_dept', 'applying_leader', 'related_depts', 'it_office', 'it_leader', 'president', 'secretary'] as const

/**
 * The opinion boxes of a plan: the seven of the attachment, the related departments' one per
 * department (matched by the signer's department; a signer of another department gets a box of
 * their own), the last two marked as not required when `has_leader_steps` is false.
 */
export function opinionBoxes(plan: Plan): OpinionBox[] {
  const by = (node: string) => plan.opinions.filter((o) => o.node_id === node)
  const boxes: OpinionBox[] = []
  for (const node of OPINION_NODES) {
    const caption = `plans.opinions.${node}`
    if (node === 'related_depts') {
      const given = by(node)
      const named = plan.related_departments.map((d) => d.name)
      for (const name of named) {
        boxes.push({ node, caption, department: name, opinions: given.filter((o) => o.department === name), notRequired: false })
      }
      const others = given.filter((o) => !o.department || !named.includes(o.department))
      for (const name of [...new Set(others.map((o) => o.department ?? ''))]) {
        boxes.push({ node, caption, department: name || undefined, opinions: others.filter((o) => (o.department ?? '') === name), notRequired: false })
      }
      if (named.length === 0 && others.length === 0) boxes.push({ node, caption, opinions: [], notRequired: false })
      continue
    }
    const leader = node === 'president' || node === 'secretary'
    boxes.push({ node, caption, opinions: by(node), notRequired: leader && !plan.has_leader_steps })
  }
  return boxes
}
