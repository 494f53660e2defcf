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
      // By the signer's department id (`OpinionView.department_id`); an opinion without one (signed
      // before the API said it) is matched by the department's name, to the first of that name.
      const given = by(node)
      const byName = (o: Opinion) => plan.related_departments.find((d) => d.name === o.department)
      const mine = (d: { id: string }) => (o: Opinion) => (o.department_id ? o.department_id === d.id : byName(o)?.id === d.id)
      for (const d of plan.related_departments) {
        boxes.push({ node, caption, department: d.name, opinions: given.filter(mine(d)), notRequired: false })
      }
      const others = given.filter((o) => !plan.related_departments.some((d) => mine(d)(o)))
      const keyOf = (o: Opinion) => o.department_id ?? o.department ?? ''
      for (const k of [...new Set(others.map(keyOf))]) {
        const list = others.filter((o) => keyOf(o) === k)
        boxes.push({ node, caption, department: list[0]?.department ?? undefined, opinions: list, notRequired: false })
      }
      if (plan.related_departments.length === 0 && others.length === 0) boxes.push({ node, caption, opinions: [], notRequired: false })
      continue
    }
    const leader = node === 'president' || node === 'secretary'
    boxes.push({ node, caption, opinions: by(node), notRequired: leader && !plan.has_leader_steps })
  }
  return boxes
}
