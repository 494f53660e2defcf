//! The requirement-plan approval form (网上办事流程建设需求计划审批表) and the process-building
//! lifecycle (第六条~第九条), with the demo accounts: the chain with and without the president's
//! and secretary's steps, who gets each task, the opinions in order on the PDF, the flowchart
//! check, one form one process, draft → trial → online, and change requests with their technical
//! feasibility assessment (第八条).

use serde_json::{Value, json};

use crate::applying::{PDF, upload};
use crate::db_test;
use crate::helpers::{TestApp, Tokens, pdf_text, squeeze};

const PLAN: &str = "process_requirement_plan";
const CHANGE: &str = "process_requirement_change";

/// A flowchart drawn in a BPMN modeller, every task in a named lane (its owner).
fn flowchart(with_president: bool) -> String {
    let president = if with_president {
        r#"<bpmn:lane id="l3" name="院长"><bpmn:flowNodeRef>t3</bpmn:flowNodeRef></bpmn:lane>"#
    } else {
        ""
    };
    let third = if with_president { r#"<bpmn:userTask id="t3" name="院长签批"/>"# } else { "" };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">
  <bpmn:process id="scholarship" name="奖学金评定">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="学生工作处"><bpmn:flowNodeRef>t1</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="教务处"><bpmn:flowNodeRef>t2</bpmn:flowNodeRef></bpmn:lane>
      {president}
    </bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t1" name="学工处初审"/>
    <bpmn:userTask id="t2" name="教务处复核"/>
    {third}
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="t2"/>
    <bpmn:sequenceFlow id="f3" sourceRef="t2" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// A flowchart whose second task names nobody.
const UNOWNED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">
  <bpmn:process id="p">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="学生工作处"><bpmn:flowNodeRef>t1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:userTask id="t1" name="学工处初审"/>
    <bpmn:userTask id="t2" name="复核"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct Ids {
    xgc: String,
    jwc: String,
    cwc: String,
}

async fn departments(app: &TestApp) -> Ids {
    let id = |v: Value| v["id"].as_str().expect("id").to_owned();
    Ids {
        xgc: id(app.department("xgc").await),
        jwc: id(app.department("jwc").await),
        cwc: id(app.department("cwc").await),
    }
}

/// The form of a request by 学生工作处 with files uploaded by `who`.
async fn plan_form(app: &TestApp, who: &Tokens, d: &Ids, name: &str, leader_steps: bool, chart: &str) -> Value {
    let description = upload(app, who, "业务流程情况说明.pdf", PDF).await;
    let chart = upload(app, who, "奖学金评定.bpmn", chart.as_bytes()).await;
    json!({
        "applying_department": d.xgc,
        "process_name": name,
        "summary": "学生在线申请奖学金，学院、学工处、教务处逐级评审，结果公示。",
        "reasons": "现行纸质流程需学生往返多个部门，评审材料难以留存。\n要求：支持公示与异议。",
        "applied_on": "2026-12-02",
        "contact_name": "学工处管理员",
        "contact_phone": "0734-8888201",
        "process_description": [description],
        "flowchart": [chart],
        "has_leader_steps": if leader_steps { "yes" } else { "no" },
        "related_departments": [d.jwc, d.cwc],
    })
}

async fn apply(app: &TestApp, who: &Tokens, key: &str, form: &Value) -> crate::helpers::Resp {
    app.post("/api/v1/affairs", Some(&who.access), &json!({ "process_key": key, "form": form })).await
}

/// The pending task of `affair_id` in `who`'s to-do list, asserting its node.
async fn my_task(app: &TestApp, who: &Tokens, affair_id: &str, node: &str) -> String {
    let list = app.get("/api/v1/tasks?status=todo&page_size=100", Some(&who.access)).await.expect(200).body;
    let item = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["affair_id"] == affair_id)
        .unwrap_or_else(|| panic!("no task of {affair_id} in the to-do list: {list}"));
    assert_eq!(item["node_id"], node, "{item}");
    item["id"].as_str().expect("task id").to_owned()
}

async fn no_task(app: &TestApp, username: &str, affair_id: &str) {
    let who = app.login(username).await;
    let list = app.get("/api/v1/tasks?status=todo&page_size=100", Some(&who.access)).await.expect(200).body;
    let items = list["items"].as_array().expect("items");
    assert!(items.iter().all(|t| t["affair_id"] != affair_id), "{username} has a task of {affair_id}");
}

/// `username` approves their task at `node` with the opinion "<node>：<username> 同意".
async fn sign(app: &TestApp, username: &str, affair_id: &str, node: &str, patch: Option<Value>) -> Value {
    let who = app.login(username).await;
    let task = my_task(app, &who, affair_id, node).await;
    let mut body = json!({ "action": "approve", "comment": format!("{node}：{username} 同意") });
    if let Some(p) = patch {
        body["form_patch"] = p;
    }
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&who.access), &body).await.expect(200).body
}

async fn plan_of(app: &TestApp, who: &Tokens, number: &str) -> Value {
    let list = app.get("/api/v1/requirement-plans?page_size=100", Some(&who.access)).await.expect(200).body;
    let id = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["number"] == number)
        .unwrap_or_else(|| panic!("no plan {number} in {list}"))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.get(&format!("/api/v1/requirement-plans/{id}"), Some(&who.access)).await.expect(200).body
}

/// The chain up to the IT office's leader: who gets each task, and nobody else.
async fn chain_to_it_leader(app: &TestApp, affair_id: &str) {
    sign(app, "xgc_head", affair_id, "applying_dept", None).await;
    sign(app, "vp_student", affair_id, "applying_leader", None).await;
    // Both related departments' heads sign at once (会签): both tasks are pending together.
    let jwc = app.login("jwc_head").await;
    let cwc = app.login("cwc_head").await;
    my_task(app, &jwc, affair_id, "related_depts").await;
    my_task(app, &cwc, affair_id, "related_depts").await;
    no_task(app, "it_admin", affair_id).await;
    sign(app, "jwc_head", affair_id, "related_depts", None).await;
    sign(app, "cwc_head", affair_id, "related_depts", None).await;
    sign(app, "it_admin", affair_id, "it_office", None).await;
    sign(app, "vp_it", affair_id, "it_leader", None).await;
}

async fn pdf_of(app: &TestApp, who: &Tokens, plan_id: &str) -> String {
    let (status, headers, bytes) =
        app.get_bytes(&format!("/api/v1/requirement-plans/{plan_id}/pdf"), Some(&who.access)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/pdf"));
    let path = std::env::temp_dir().join(format!("tongban-plan-{}.pdf", uuid::Uuid::now_v7()));
    std::fs::write(&path, &bytes).expect("write pdf");
    let text = squeeze(&pdf_text(&path));
    let _ = std::fs::remove_file(&path);
    text
}

/// Each needle appears, in this order.
fn in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        let n = squeeze(n);
        match text[from..].find(&n) {
            Some(i) => from += i + n.len(),
            None => panic!("`{n}` missing or out of order in: {text}"),
        }
    }
}

async fn a_request_without_leader_steps_walks_the_chain_and_prints_in_order(app: &TestApp) {
    let d = departments(app).await;
    let xgc = app.login("xgc_admin").await;
    let form = plan_form(app, &xgc, &d, "学生奖学金评定", false, &flowchart(false)).await;
    let affair = apply(app, &xgc, PLAN, &form).await.expect(201).body;
    let id = affair["id"].as_str().expect("id").to_owned();
    let number = affair["number"].as_str().expect("number").to_owned();
    let names: Vec<&str> =
        affair["departments"].as_array().expect("d").iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"学生工作处") && names.contains(&"教务处") && names.contains(&"财务处"), "{names:?}");

    // An opinion is required at every step; the refusal changes nothing.
    let head = app.login("xgc_head").await;
    let task = my_task(app, &head, &id, "applying_dept").await;
    let r = app
        .post(&format!("/api/v1/tasks/{task}/actions"), Some(&head.access), &json!({ "action": "approve" }))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "comment");
    let view = app.get(&format!("/api/v1/tasks/{task}"), Some(&head.access)).await.expect(200).body;
    let pending: Vec<&Value> =
        view["tasks"].as_array().expect("tasks").iter().filter(|t| t["status"] == "pending").collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["opinion_required"], true);

    // In approval the request is listed, and the PDF shows who has not signed yet.
    let plan = plan_of(app, &xgc, &number).await;
    assert_eq!(plan["status"], "in_approval");
    assert_eq!(plan["department"]["id"], d.xgc);
    let early = pdf_of(app, &xgc, plan["id"].as_str().expect("id")).await;
    assert!(early.contains("审批中") && early.contains("待签署"), "{early}");

    chain_to_it_leader(app, &id).await;
    for leader in ["president", "secretary"] {
        no_task(app, leader, &id).await;
    }
    let done = app.get(&format!("/api/v1/affairs/{id}"), Some(&xgc.access)).await.expect(200).body;
    assert_eq!(done["status"], "completed");

    // The request is approved and became a draft process, linked both ways.
    let plan = plan_of(app, &xgc, &number).await;
    assert_eq!(plan["status"], "building");
    let nodes: Vec<&str> =
        plan["opinions"].as_array().expect("opinions").iter().map(|o| o["node_id"].as_str().expect("n")).collect();
    assert_eq!(nodes, ["applying_dept", "applying_leader", "related_depts", "related_depts", "it_office", "it_leader"]);
    let first = &plan["opinions"][0];
    assert_eq!((first["by"]["name"].as_str(), first["decision"].as_str()), (Some("周学工"), Some("approved")));
    assert_eq!(first["text"], "applying_dept：xgc_head 同意");
    let depts: Vec<&str> =
        plan["opinions"].as_array().expect("o")[2..4].iter().filter_map(|o| o["department"].as_str()).collect();
    assert_eq!(depts, ["教务处", "财务处"]);
    assert_eq!(plan["opinions"][2]["department_id"], d.jwc);
    let process_id = plan["process"]["id"].as_str().expect("draft process").to_owned();
    assert_eq!(plan["process"]["name"], "学生奖学金评定");
    assert_eq!(plan["process"]["versions"], json!([]));
    let admin = app.login("it_admin").await;
    let process = app.get(&format!("/api/v1/processes/{process_id}"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(process["requirement_plan"]["id"], plan["id"]);
    assert_eq!(process["department_id"], d.xgc);
    // The flowchart drawn in a modeller is the draft the IT office starts from.
    let draft_nodes: Vec<&str> =
        process["draft"]["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["name"].as_str()).collect();
    assert!(draft_nodes.contains(&"学工处初审") && draft_nodes.contains(&"教务处复核"), "{draft_nodes:?}");
    assert_eq!(plan["checklist"][0]["code"], "plan");
    assert_eq!(plan["checklist"][0]["done"], true);
    assert!(plan["checklist"].as_array().expect("c")[1..].iter().all(|c| c["done"] == false));

    // The printed form: title, fields, every opinion in the attachment's order, the notes; the
    // president's and secretary's boxes say they are not needed (注3).
    let text = pdf_of(app, &xgc, plan["id"].as_str().expect("id")).await;
    in_order(
        &text,
        &[
            "网上办事流程建设需求计划审批表",
            "申报时间：2026年12月2日",
            "申请建设部门",
            "学生工作处",
            "学生奖学金评定",
            "申请原因及要求",
            // Two boxes a row, as in the attachment: read left to right, line by line.
            "申请部门意见",
            "申请部门分管院领导意见",
            "【同意】applying_dept：xgc_head同意",
            "【同意】applying_leader：vp_student同意",
            "签字：周学工",
            "签字：陈副院长",
            "流程相关职能部门意见",
            "related_depts：jwc_head同意",
            "签字：教务处郑教务",
            "related_depts：cwc_head同意",
            "签字：财务处冯财务",
            "信息化管理办公室意见",
            "分管院领导意见",
            "it_office：it_admin同意",
            "it_leader：vp_it同意",
            "院长意见",
            "书记意见",
            "（无需签署，见注3）",
            "（无需签署，见注3）",
            "一张表只申报一个流程",
        ],
    );
    assert!(text.contains("签字：周学工") && text.contains("签字：教务处郑教务"), "{text}");
}
db_test!(request_without_leader_steps, a_request_without_leader_steps_walks_the_chain_and_prints_in_order);

async fn a_request_with_leader_steps_goes_to_the_president_and_secretary(app: &TestApp) {
    let d = departments(app).await;
    let xgc = app.login("xgc_admin").await;

    // A flowchart that leaves a node without an owner is refused, naming the node; nothing is kept.
    let before = app.get("/api/v1/affairs?scope=mine", Some(&xgc.access)).await.expect(200).body["total"].clone();
    let bad = plan_form(app, &xgc, &d, "学生奖学金评定", false, UNOWNED).await;
    let r = apply(app, &xgc, PLAN, &bad).await.expect(400);
    assert_eq!(r.body["errors"][0]["field"], "form.flowchart");
    assert_eq!(r.body["errors"][0]["code"], "node_owner_missing");
    assert!(r.body["errors"][0]["message"].as_str().expect("m").contains("复核（t2）"), "{}", r.body);
    // A flowchart with the president's step needs the president's and secretary's approval.
    let form = plan_form(app, &xgc, &d, "学生奖学金评定", false, &flowchart(true)).await;
    let r = apply(app, &xgc, PLAN, &form).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "leader_steps_in_flowchart");
    let after = app.get("/api/v1/affairs?scope=mine", Some(&xgc.access)).await.expect(200).body["total"].clone();
    assert_eq!(before, after, "refused requests leave nothing behind");
    let list = app.get("/api/v1/requirement-plans", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(list["total"], 0);

    let mut form = form;
    form["has_leader_steps"] = json!("yes");
    let affair = apply(app, &xgc, PLAN, &form).await.expect(201).body;
    let id = affair["id"].as_str().expect("id").to_owned();
    let number = affair["number"].as_str().expect("number").to_owned();
    chain_to_it_leader(app, &id).await;
    no_task(app, "secretary", &id).await;
    sign(app, "president", &id, "president", None).await;
    sign(app, "secretary", &id, "secretary", None).await;
    let plan = plan_of(app, &xgc, &number).await;
    assert_eq!(plan["status"], "building");
    assert_eq!(plan["has_leader_steps"], true);
    let nodes: Vec<&str> =
        plan["opinions"].as_array().expect("o").iter().filter_map(|o| o["node_id"].as_str()).collect();
    assert_eq!(nodes[6..], ["president", "secretary"]);
    let text = pdf_of(app, &xgc, plan["id"].as_str().expect("id")).await;
    in_order(
        &text,
        &[
            "申请部门意见",
            "applying_dept：xgc_head同意",
            "流程相关职能部门意见",
            "信息化管理办公室意见",
            "分管院领导意见",
            "it_office：it_admin同意",
            "it_leader：vp_it同意",
            "院长意见",
            "书记意见",
            "【同意】president：president同意",
            "【同意】secretary：secretary同意",
            "签字：张院长",
            "签字：黄书记",
        ],
    );
    assert!(!text.contains("无需签署"), "{text}");

    // Only those in reach read the request: a student and an unrelated department do not.
    let plan_url = format!("/api/v1/requirement-plans/{}", plan["id"].as_str().expect("id"));
    for outsider in ["student2", "jwc_admin", "auditor"] {
        let t = app.login(outsider).await;
        app.get(&plan_url, Some(&t.access)).await.expect(404);
        app.get(&format!("{plan_url}/pdf"), Some(&t.access)).await.expect(404);
    }
    for signer in ["jwc_head", "vp_student", "president", "it_admin"] {
        let t = app.login(signer).await;
        app.get(&plan_url, Some(&t.access)).await.expect(200);
    }
    app.get(&plan_url, None).await.expect(401);
}
db_test!(request_with_leader_steps, a_request_with_leader_steps_goes_to_the_president_and_secretary);

async fn one_form_requests_one_process_and_only_for_ones_own_department(app: &TestApp) {
    let d = departments(app).await;
    let xgc = app.login("xgc_admin").await;
    let form = plan_form(app, &xgc, &d, "学生奖学金评定", false, &flowchart(false)).await;
    let first = apply(app, &xgc, PLAN, &form).await.expect(201).body;
    let number = first["number"].as_str().expect("number").to_owned();

    // The same process again from the same department — spacing and case aside — is refused.
    let mut again = plan_form(app, &xgc, &d, " 学生奖学金评定 ", false, &flowchart(false)).await;
    let r = apply(app, &xgc, PLAN, &again).await.expect(409);
    assert_eq!(r.code(), "already_exists");
    let detail = r.body["detail"].as_str().expect("detail");
    assert!(detail.contains(&number) && detail.contains("一张表只申报一个流程"), "{detail}");
    let list = app.get("/api/v1/requirement-plans", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(list["total"], 1);

    // Another department may request a process of that name; not on 学生工作处's behalf.
    let jwc = app.login("jwc_admin").await;
    let mut theirs = plan_form(app, &jwc, &d, "学生奖学金评定", false, &flowchart(false)).await;
    theirs["applying_department"] = json!(d.xgc);
    theirs["related_departments"] = json!([d.cwc]);
    let r = apply(app, &jwc, PLAN, &theirs).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "not_your_department");
    theirs["applying_department"] = json!(d.jwc);
    apply(app, &jwc, PLAN, &theirs).await.expect(201);
    // The applying department is not its own related department; unknown departments are refused.
    let mut theirs = plan_form(app, &jwc, &d, "教材征订", false, &flowchart(false)).await;
    theirs["applying_department"] = json!(d.jwc);
    theirs["related_departments"] = json!([d.jwc]);
    assert_eq!(
        apply(app, &jwc, PLAN, &theirs).await.expect(400).body["errors"][0]["field"],
        "form.related_departments"
    );
    theirs["related_departments"] = json!([uuid::Uuid::now_v7().to_string()]);
    let r = apply(app, &jwc, PLAN, &theirs).await.expect(400);
    assert_eq!(
        (r.body["errors"][0]["field"].as_str(), r.body["errors"][0]["code"].as_str()),
        (Some("form.related_departments"), Some("not_found"))
    );
    // Students do not request processes.
    let student = app.login("student1").await;
    let mut s = plan_form(app, &student, &d, "学生社团活动申请", false, &flowchart(false)).await;
    s["applying_department"] = json!(app.department("hjxy").await["id"]);
    assert_eq!(apply(app, &student, PLAN, &s).await.expect(422).code(), "rule_violation");

    // Once the first request is refused, the name is free again.
    let head = app.login("xgc_head").await;
    let task = my_task(app, &head, first["id"].as_str().expect("id"), "applying_dept").await;
    let body = json!({ "action": "reject", "comment": "本学期暂不建设" });
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&head.access), &body).await.expect(200);
    let plan = plan_of(app, &xgc, &number).await;
    assert_eq!(plan["status"], "rejected");
    assert_eq!(plan["events"].as_array().expect("events").last().expect("e")["note"], "本学期暂不建设");
    again["process_name"] = json!("学生奖学金评定");
    apply(app, &xgc, PLAN, &again).await.expect(201);
}
db_test!(one_form_one_process, one_form_requests_one_process_and_only_for_ones_own_department);

/// An approved request by 学生工作处 (without leader steps): (plan, affair number).
async fn approved_plan(app: &TestApp) -> (Value, String) {
    let d = departments(app).await;
    let xgc = app.login("xgc_admin").await;
    let form = plan_form(app, &xgc, &d, "学生奖学金评定", false, &flowchart(false)).await;
    let affair = apply(app, &xgc, PLAN, &form).await.expect(201).body;
    let id = affair["id"].as_str().expect("id").to_owned();
    chain_to_it_leader(app, &id).await;
    let number = affair["number"].as_str().expect("number").to_owned();
    (plan_of(app, &xgc, &number).await, number)
}

fn actions(plan: &Value) -> Vec<&str> {
    plan["allowed_actions"].as_array().expect("actions").iter().filter_map(Value::as_str).collect()
}

async fn an_approved_request_is_built_trialled_and_put_online(app: &TestApp) {
    let (plan, _) = approved_plan(app).await;
    let url = format!("/api/v1/requirement-plans/{}", plan["id"].as_str().expect("id"));
    let xgc = app.login("xgc_admin").await;
    let admin = app.login("it_admin").await;
    let head = app.login("xgc_head").await;
    let staff =
        app.get("/api/v1/users?q=xgc_head", Some(&admin.access)).await.expect(200).body["items"][0]["id"].clone();
    assert_eq!(actions(&plan), ["testers", "business_owner", "request_change"]);

    // The IT office proposes the scheme; the department cannot, and confirms it instead.
    let scheme = json!({ "scheme": "表单：申请表与评审表；流程：学院初审→学工处复核→教务处核对成绩。", "planned_online_on": "2026-12-20", "version": plan["version"] });
    app.put(&format!("{url}/scheme"), Some(&xgc.access), &scheme).await.expect(403);
    let p = app.put(&format!("{url}/scheme"), Some(&admin.access), &scheme).await.expect(200).body;
    assert_eq!(p["planned_online_on"], "2026-12-20");
    assert!(actions(&p).contains(&"scheme"), "the IT office may revise it");
    let stale = json!({ "version": plan["version"] });
    assert_eq!(
        app.post(&format!("{url}/scheme/confirm"), Some(&xgc.access), &stale).await.expect(409).code(),
        "version_conflict"
    );
    app.post(&format!("{url}/scheme/confirm"), Some(&admin.access), &json!({ "version": p["version"] }))
        .await
        .expect(403);
    let xgc_view = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    assert!(actions(&xgc_view).contains(&"confirm_scheme"));
    let p = app
        .post(
            &format!("{url}/scheme/confirm"),
            Some(&xgc.access),
            &json!({ "note": "方案可行", "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;

    // A trial needs the department's testers.
    let r =
        app.post(&format!("{url}/trial"), Some(&admin.access), &json!({ "version": p["version"] })).await.expect(422);
    assert!(r.body["detail"].as_str().expect("d").contains("测试人员"));
    let bogus = json!({ "user_ids": [uuid::Uuid::now_v7()], "version": p["version"] });
    app.put(&format!("{url}/testers"), Some(&xgc.access), &bogus).await.expect(400);
    let p = app
        .put(&format!("{url}/testers"), Some(&xgc.access), &json!({ "user_ids": [staff], "version": p["version"] }))
        .await
        .expect(200)
        .body;
    assert_eq!(p["testers"][0]["name"], "周学工");

    // The draft drawn from the flowchart names nobody for its tasks: the trial waits until the IT
    // office has built the process in the designer.
    let process_id = p["process"]["id"].as_str().expect("process").to_owned();
    let r =
        app.post(&format!("{url}/trial"), Some(&admin.access), &json!({ "version": p["version"] })).await.expect(422);
    assert!(r.body["detail"].as_str().expect("d").contains("流程草稿"), "{}", r.body);
    let current = app.get(&format!("/api/v1/processes/{process_id}"), Some(&admin.access)).await.expect(200).body;
    let admin_id = current["draft"]["admins"][0].clone();
    let built = json!({
        "name": "学生奖学金评定", "department_id": current["department_id"], "description": "奖学金评定",
        "definition": {
            "key": current["key"], "name": "学生奖学金评定", "admins": [admin_id],
            "nodes": [
                { "id": "start", "name": "提交", "kind": { "type": "start" }, "field_access": { "reason": "editable" } },
                { "id": "t1", "name": "学工处初审", "kind": { "type": "user_task", "assignees": [ { "type": "department_head", "of": "process_department" } ], "mode": { "type": "single" } } },
                { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } }
            ],
            "flows": [ { "id": "f1", "from": "start", "to": "t1" }, { "id": "f2", "from": "t1", "to": "end" } ]
        },
        "form": { "fields": [ { "key": "reason", "label": "申请理由", "kind": { "type": "textarea" }, "required": true } ] },
        "version": current["version"]
    });
    app.put(&format!("/api/v1/processes/{process_id}"), Some(&admin.access), &built).await.expect(200);
    let p = app
        .post(&format!("{url}/trial"), Some(&head.access), &json!({ "version": p["version"] }))
        .await
        .expect(403)
        .body;
    assert_eq!(p["code"], "forbidden");
    let p = app.get(&url, Some(&admin.access)).await.expect(200).body;
    let p = app
        .post(&format!("{url}/trial"), Some(&admin.access), &json!({ "version": p["version"] }))
        .await
        .expect(200)
        .body;
    assert_eq!(p["status"], "trial");
    assert_eq!(p["process"]["versions"][0]["status"], "trial");

    // Testing is confirmed only once a tester's trial affair has run to its end.
    let r = app
        .post(&format!("{url}/testing-done"), Some(&xgc.access), &json!({ "version": p["version"] }))
        .await
        .expect(422);
    assert!(r.body["detail"].as_str().expect("d").contains("测试"));
    let key = p["process"]["key"].as_str().expect("key").to_owned();
    let outsider = app.login("student1").await;
    assert_eq!(apply(app, &outsider, &key, &json!({ "reason": "试一试" })).await.expect(422).code(), "rule_violation");
    let test = apply(app, &head, &key, &json!({ "reason": "测试申请" })).await.expect(201).body;
    assert_eq!(test["is_test"], true);
    sign(app, "xgc_head", test["id"].as_str().expect("id"), "t1", None).await;
    let p = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    assert_eq!(p["process"]["versions"][0]["finished_test_affairs"], 1);
    app.post(&format!("{url}/online"), Some(&admin.access), &json!({ "version": p["version"] })).await.expect(422);
    let p = app
        .post(
            &format!("{url}/testing-done"),
            Some(&xgc.access),
            &json!({ "note": "测试通过", "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;
    let p = app
        .post(&format!("{url}/online"), Some(&admin.access), &json!({ "version": p["version"] }))
        .await
        .expect(200)
        .body;
    assert_eq!(p["status"], "online");
    assert_eq!(p["process"]["versions"][0]["status"], "online");
    let process = app.get(&format!("/api/v1/processes/{process_id}"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(process["online_version"], 1);
    // Anyone may now apply for real.
    let real = apply(app, &outsider, &key, &json!({ "reason": "申请" })).await.expect(201).body;
    assert_eq!(real["is_test"], false);

    // Each side names its own owner after going online.
    let mine = json!({ "technical_owner_id": staff, "version": p["version"] });
    app.put(&format!("{url}/owners"), Some(&xgc.access), &mine).await.expect(403);
    let p = app
        .put(
            &format!("{url}/owners"),
            Some(&xgc.access),
            &json!({ "business_owner_id": staff, "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;
    let admin_user = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body["user"]["id"].clone();
    let p = app
        .put(
            &format!("{url}/owners"),
            Some(&admin.access),
            &json!({ "technical_owner_id": admin_user, "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["business_owner"]["name"], "周学工");
    assert_eq!(p["technical_owner"]["id"], admin_user);
    let unchecked: Vec<&Value> = p["checklist"].as_array().expect("c").iter().filter(|c| c["done"] != true).collect();
    assert!(unchecked.is_empty(), "every duty of 第九条 is done: {unchecked:?}");
    let kinds: Vec<&str> = p["events"].as_array().expect("e").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "submitted",
            "approved",
            "draft_created",
            "scheme_proposed",
            "scheme_confirmed",
            "testers_named",
            "trial_started",
            "testing_done",
            "online",
            "owners_named",
            "owners_named"
        ]
    );
    let confirm = p["events"].as_array().expect("e").iter().find(|e| e["kind"] == "scheme_confirmed").expect("c");
    assert_eq!((confirm["actor"]["name"].as_str(), confirm["note"].as_str()), (Some("学工处管理员"), Some("方案可行")));
}
db_test!(build_trial_online, an_approved_request_is_built_trialled_and_put_online);

async fn a_change_is_assessed_for_feasibility_before_it_is_approved(app: &TestApp) {
    let d = departments(app).await;
    let xgc = app.login("xgc_admin").await;
    let change = |number: &str| {
        json!({
            "requirement_number": number, "applying_department": d.xgc,
            "change_content": "增加辅导员推荐环节。", "change_reason": "学校奖学金办法修订。"
        })
    };
    // A request still in approval needs no change request.
    let form = plan_form(app, &xgc, &d, "学生资助认定", false, &flowchart(false)).await;
    let pending = apply(app, &xgc, PLAN, &form).await.expect(201).body;
    let r = apply(app, &xgc, CHANGE, &change(pending["number"].as_str().expect("n"))).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "not_approved");
    assert_eq!(
        apply(app, &xgc, CHANGE, &change("SW2000010100001")).await.expect(400).body["errors"][0]["code"],
        "not_found"
    );

    let (plan, number) = approved_plan(app).await;
    // Another department cannot change 学生工作处's requirement.
    let jwc = app.login("jwc_admin").await;
    let mut theirs = change(&number);
    theirs["applying_department"] = json!(d.jwc);
    assert_eq!(apply(app, &jwc, CHANGE, &theirs).await.expect(400).body["errors"][0]["code"], "not_found");

    let affair = apply(app, &xgc, CHANGE, &change(&number)).await.expect(201).body;
    let id = affair["id"].as_str().expect("id").to_owned();
    assert_eq!(apply(app, &xgc, CHANGE, &change(&number)).await.expect(409).code(), "already_exists");
    sign(app, "xgc_head", &id, "applying_dept", None).await;
    // The IT office cannot approve without its feasibility assessment.
    let admin = app.login("it_admin").await;
    let task = my_task(app, &admin, &id, "assessment").await;
    let r = app
        .post(
            &format!("/api/v1/tasks/{task}/actions"),
            Some(&admin.access),
            &json!({ "action": "approve", "comment": "同意" }),
        )
        .await
        .expect(400);
    let fields: Vec<&str> =
        r.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["form_patch.feasibility", "form_patch.assessment"]);
    let assessment = json!({ "feasibility": "conditional", "assessment": "需调整表单与第 2 节点，在办事务不受影响。", "estimated_days": 3 });
    sign(app, "it_admin", &id, "assessment", Some(assessment)).await;
    sign(app, "vp_it", &id, "it_leader", None).await;

    // The change and its assessment are kept with the request and the process's history.
    let url = format!("/api/v1/requirement-plans/{}", plan["id"].as_str().expect("id"));
    let p = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    let c = &p["changes"][0];
    assert_eq!((c["status"].as_str(), c["feasibility"].as_str()), (Some("approved"), Some("conditional")));
    assert_eq!(c["assessment"], "需调整表单与第 2 节点，在办事务不受影响。");
    assert_eq!((c["estimated_days"].as_i64(), c["assessed_by"]["name"].as_str()), (Some(3), Some("信息办管理员")));
    let kinds: Vec<&str> = p["events"].as_array().expect("e").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.ends_with(&["change_requested", "change_approved"]), "{kinds:?}");
    let process_id = p["process"]["id"].as_str().expect("process");
    let process = app.get(&format!("/api/v1/processes/{process_id}"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(process["requirement_plan"]["changes"][0]["number"], affair["number"]);
    let audit = app
        .get(
            &format!("/api/v1/audit-logs?object_type=process&object_id={process_id}&page_size=100"),
            Some(&app.login("auditor").await.access),
        )
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"process.requirement_change"), "{actions:?}");

    // A change judged not feasible is refused at the assessment.
    let second = apply(app, &xgc, CHANGE, &change(&number)).await.expect(201).body;
    let sid = second["id"].as_str().expect("id").to_owned();
    sign(app, "xgc_head", &sid, "applying_dept", None).await;
    sign(
        app,
        "it_admin",
        &sid,
        "assessment",
        Some(json!({ "feasibility": "infeasible", "assessment": "与统一身份认证冲突。" })),
    )
    .await;
    no_task(app, "vp_it", &sid).await;
    let p = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    assert_eq!(
        (p["changes"][1]["status"].as_str(), p["changes"][1]["feasibility"].as_str()),
        (Some("rejected"), Some("infeasible"))
    );
}
db_test!(change_requests, a_change_is_assessed_for_feasibility_before_it_is_approved);

async fn the_builtin_processes_are_the_it_offices_and_keep_their_contract(app: &TestApp) {
    // Every installation has them, protected, with their guides in the hall.
    let admin = app.login("it_admin").await;
    let list = app.get("/api/v1/processes", Some(&admin.access)).await.expect(200).body;
    let plan = list.as_array().expect("list").iter().find(|p| p["key"] == PLAN).expect("plan").clone();
    assert_eq!(plan["online_version"], 1);
    assert_eq!(plan["department_id"], app.department("xxb").await["id"]);
    let guides = app.get("/api/v1/guides?page_size=100", None).await.expect(200).body;
    for code in [PLAN, CHANGE] {
        let g = guides["items"].as_array().expect("items").iter().find(|g| g["code"] == code).expect("guide");
        assert_eq!(g["protected"], true, "{code}");
    }
    // A department administrator cannot touch them.
    let xgc = app.login("xgc_admin").await;
    let url = format!("/api/v1/processes/{}", plan["id"].as_str().expect("id"));
    assert!(matches!(app.get(&url, Some(&xgc.access)).await.status.as_u16(), 403 | 404));
    // The IT office may reshape the draft, but not drop a field the server relies on.
    let detail = app.get(&url, Some(&admin.access)).await.expect(200).body;
    let mut form = detail["draft_form"].clone();
    form["fields"].as_array_mut().expect("fields").retain(|f| f["key"] != "related_departments");
    let body = json!({ "name": detail["name"], "department_id": detail["department_id"], "description": detail["description"],
        "definition": detail["draft"], "form": form, "version": detail["version"] });
    let saved = app.put(&url, Some(&admin.access), &body).await.expect(200).body;
    assert_eq!(saved["validation"]["valid"], false);
    let problems = saved["validation"]["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| p["code"] == "builtin_contract" && p["field"] == "related_departments"),
        "{problems:?}"
    );
    let publish = json!({ "status": "online", "version": saved["version"] });
    app.post(&format!("{url}/versions"), Some(&admin.access), &publish).await.expect(422);
}
db_test!(builtin_processes, the_builtin_processes_are_the_it_offices_and_keep_their_contract);
