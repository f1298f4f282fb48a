// trailbridge console: plain JavaScript, no build step. Every call goes through POST /console/api/SERVICE,
// which makes it on the server's own AWS API as the signed-in key; the DOM is built with createElement only
// (no HTML from data).
"use strict";

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const CSRF = meta("csrf-token");
const ACCOUNT = meta("trailbridge-account");
const REGION = meta("trailbridge-region");
const SERVED_SOURCES = JSON.parse(meta("trailbridge-sources"));
const TARGETS = {
  events: (op) => `AWSEvents.${op}`,
  sqs: (op) => `AmazonSQS.${op}`,
  cloudtrail: (op) => `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${op}`,
  logs: (op) => `Logs_20140328.${op}`,
  stepfunctions: (op) => `AWSStepFunctions.${op}`,
};
const MAX_TARGETS = 5;
const RULES_PER_PAGE = 50; // rows of the rules list: only the rules shown have their targets listed
const CLOUDTRAIL_CALL = "AWS API Call via CloudTrail";
const TARGET_KINDS = [
  ["sqs", "SQS queue"],
  ["sns", "SNS topic"],
  ["lambda", "Lambda function"],
  ["states", "Step Functions state machine"],
  ["logs", "CloudWatch log group"],
  ["events", "Event bus"],
  ["other", "Other target (by ARN)"],
];
let flash = "";
let pendingPattern = null; // a pattern "Create rule from this event" hands to the create page
let pendingEvent = null; // an event "Test in Sandbox" hands to the sandbox

// ---- calls -------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// A JSON-protocol call goes as its wire body with its X-Amz-Target; any other (SNS's query, Lambda's rest-json)
// by operation name with its parameters, which the server writes as a boto3 client would.
function call(service, operation, body) {
  if (!TARGETS[service]) return post(`/console/api/${service}/${operation}`, body, {});
  return post(`/console/api/${service}`, body, { "X-Amz-Target": TARGETS[service](operation) });
}

async function post(path, body, headers) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF, ...headers },
    body: JSON.stringify(body || {}),
  });
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch (_) {
    data = { message: text };
  }
  if (!response.ok) {
    const code = String(data.__type || data.code || response.status).split("#").pop();
    const error = new ApiError(code, data.message || data.Message || response.statusText, response.status);
    error.field = data.field;
    error.hints = data.hints;
    throw error;
  }
  return data;
}

// Every page of a list (up to `pages`); `tokens` names the request's and the answer's paging members.
async function all(service, operation, body, key, pages = 20, tokens = ["NextToken", "NextToken"]) {
  const items = [];
  let token;
  for (let page = 0; page < pages; page += 1) {
    const answer = await call(service, operation, token ? { ...body, [tokens[0]]: token } : body);
    items.push(...(answer[key] || []));
    token = answer[tokens[1]];
    if (!token) break;
  }
  return items;
}

// ---- DOM ---------------------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === undefined || value === null) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "value") node.value = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

let uid = 0;
function field(label, control, help) {
  uid += 1;
  const id = control.id || `f${uid}`;
  control.id = id;
  const error = h("p", { class: "error", id: `${id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", `${id}-error`);
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), help ? h("p", { class: "hint" }, help) : null, control, error);
  wrap.control = control;
  return wrap;
}

function radio(name, value, label, checked, onchange) {
  uid += 1;
  const id = `r${uid}`;
  return h("span", { class: "choice" }, h("input", { type: "radio", id, name, value, checked, onchange }), h("label", { for: id }, label));
}

function showError(control, message) {
  const slot = document.getElementById(`${control.id}-error`);
  slot.textContent = message;
  slot.hidden = !message;
  control.setAttribute("aria-invalid", message ? "true" : "false");
}

function page(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, title), ...children.filter((child) => child !== null));
  document.title = `${title} · trailbridge console`;
  return main;
}

function select(options, value) {
  const node = h("select", {}, options.map(([v, label]) => h("option", { value: v }, label)));
  if (value !== undefined) node.value = value;
  return node;
}

// ---- patterns ----------------------------------------------------------------------------------------------

function leaves(value, path, out) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) leaves(inner, path ? `${path}.${key}` : key, out);
  } else {
    out.push(`${path}: ${Array.isArray(value) ? value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ") : JSON.stringify(value)}`);
  }
  return out;
}

function patternSummary(rule) {
  if (rule.ScheduleExpression) return rule.ScheduleExpression;
  try {
    return leaves(JSON.parse(rule.EventPattern || "{}"), "", []).join("; ");
  } catch (_) {
    return rule.EventPattern || "";
  }
}

function predefinedPattern(source, eventType, operations) {
  const name = source.replace(/\.amazonaws\.com$/, "");
  const pattern = { source: [`aws.${name}`] };
  if (eventType === CLOUDTRAIL_CALL) {
    pattern["detail-type"] = [CLOUDTRAIL_CALL];
    pattern.detail = { eventSource: [source] };
    if (operations && operations.length) pattern.detail.eventName = operations;
  }
  return JSON.stringify(pattern, null, 2);
}

// The `eventName` values of the recorded calls of one service (LookupEvents by EventSource), sorted.
async function eventNames(source) {
  const filter = { MaxResults: 50, LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: source }] };
  const events = await all("cloudtrail", "LookupEvents", filter, "Events", 4).catch(() => []);
  return [...new Set(events.map((event) => event.EventName))].sort();
}

async function eventSources() {
  const seen = new Set(SERVED_SOURCES);
  try {
    const events = await all("cloudtrail", "LookupEvents", { MaxResults: 50 }, "Events", 4);
    for (const event of events) if (event.EventSource) seen.add(event.EventSource);
  } catch (_) {
    // no recorded calls readable by this key: the services trailbridge serves are the choices
  }
  return [...seen].sort();
}

// ---- rules list --------------------------------------------------------------------------------------------

async function rulesPage(params) {
  const buses = await all("events", "ListEventBuses", {}, "EventBuses");
  const bus = params.get("bus") || "default";
  const busSelect = select(buses.map((b) => [b.Name, b.Name]), bus);
  busSelect.addEventListener("change", () => { location.hash = `#/rules?bus=${encodeURIComponent(busSelect.value)}`; });
  const filter = h("input", { type: "search", placeholder: "Name, state, pattern or target" });
  const status = h("p", { role: "status" }, flash);
  flash = "";
  const body = h("tbody");
  const buttons = {
    enable: h("button", { type: "button", disabled: true }, "Enable"),
    disable: h("button", { type: "button", disabled: true }, "Disable"),
    edit: h("button", { type: "button", disabled: true }, "Edit"),
    deliveries: h("button", { type: "button", disabled: true }, "Deliveries"),
    remove: h("button", { type: "button", disabled: true }, "Delete"),
  };
  const create = h("button", { type: "button", class: "primary", onclick: () => { location.hash = `#/rules/create?bus=${encodeURIComponent(bus)}`; } }, "Create rule");
  const table = h("table", {}, h("caption", { class: "hint" }, `Rules of event bus ${bus}`),
    h("thead", {}, h("tr", {}, ["Select", "Name", "State", "Event pattern", "Targets"].map((t) => h("th", { scope: "col" }, t)))), body);
  page("Rules", status,
    h("div", { class: "toolbar" }, field("Event bus", busSelect), field("Filter rules", filter)),
    h("div", { class: "toolbar" }, Object.values(buttons), create), table);
  const rules = await all("events", "ListRules", { EventBusName: bus }, "Rules");
  let selected = null;
  const choose = (rule) => {
    selected = rule;
    buttons.enable.disabled = rule.State !== "DISABLED";
    buttons.disable.disabled = rule.State === "DISABLED";
    buttons.remove.disabled = false;
    buttons.edit.disabled = false;
    buttons.deliveries.disabled = false;
  };
  const targetsOf = new Map(); // rule name -> its targets, once listed (only the rules shown are asked)
  const searched = (rule) => `${rule.Name} ${rule.State} ${patternSummary(rule)} ${(targetsOf.get(rule.Name) || []).map((t) => t.Arn).join(" ")}`.toLowerCase();
  const row = (rule) => {
    const targets = h("td", { "data-label": "Targets" }, "…");
    const shown = (listed) => {
      targets.replaceChildren(...(listed.length ? listed.map((t) => h("div", {}, h("code", {}, t.Arn), " ", h("span", { class: "outcome", "data-target": t.Id }))) : ["none"]));
      if (!listed.length) return;
      post("/console/deliveries", { Rule: rule.Name, EventBusName: bus, Minutes: 1 }).then((answer) => {
        for (const slot of targets.querySelectorAll(".outcome")) slot.textContent = lastOutcome(answer.Last[slot.dataset.target]);
      }, () => {});
    };
    if (targetsOf.has(rule.Name)) shown(targetsOf.get(rule.Name));
    else {
      call("events", "ListTargetsByRule", { Rule: rule.Name, EventBusName: bus }).then((answer) => {
        targetsOf.set(rule.Name, answer.Targets || []);
        shown(targetsOf.get(rule.Name));
      }, (error) => targets.replaceChildren(error.message));
    }
    return h("tr", {},
      h("td", { "data-label": "Select" }, h("input", { type: "radio", name: "rule", "aria-label": `Select rule ${rule.Name}`, checked: selected === rule, onchange: () => choose(rule) })),
      h("td", { "data-label": "Name" }, rule.Name),
      h("td", { "data-label": "State" }, rule.State),
      h("td", { "data-label": "Event pattern" }, h("code", {}, patternSummary(rule))),
      targets);
  };
  const previous = h("button", { type: "button" }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");
  const counted = h("span", { class: "hint" });
  table.after(h("div", { class: "toolbar" }, previous, next, counted));
  let first = 0;
  const render = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = rules.filter((rule) => words.every((w) => searched(rule).includes(w)));
    first = Math.max(0, Math.min(first, matching.length - 1 - ((matching.length - 1) % RULES_PER_PAGE)));
    const shown = matching.slice(first, first + RULES_PER_PAGE);
    body.replaceChildren(...shown.map(row));
    if (!shown.length) body.append(h("tr", {}, h("td", { colspan: 5 }, rules.length ? "No rule matches the filter." : "No rules on this event bus.")));
    counted.textContent = matching.length ? `Rules ${first + 1} to ${first + shown.length} of ${matching.length}` : "";
    previous.disabled = first === 0;
    next.disabled = first + RULES_PER_PAGE >= matching.length;
  };
  previous.addEventListener("click", () => { first -= RULES_PER_PAGE; render(); });
  next.addEventListener("click", () => { first += RULES_PER_PAGE; render(); });
  filter.addEventListener("input", () => { first = 0; render(); });
  render();
  const act = async (operation, done) => {
    try {
      await call("events", operation, { Name: selected.Name, EventBusName: bus });
      flash = `Rule ${selected.Name} ${done}.`;
      route();
    } catch (error) {
      status.textContent = error.message;
    }
  };
  buttons.enable.addEventListener("click", () => act("EnableRule", "was enabled"));
  buttons.disable.addEventListener("click", () => act("DisableRule", "was disabled"));
  buttons.remove.addEventListener("click", () => confirmDelete(selected, bus, status));
  buttons.deliveries.addEventListener("click", () => {
    location.hash = `#/deliveries?bus=${encodeURIComponent(bus)}&rule=${encodeURIComponent(selected.Name)}`;
  });
  buttons.edit.addEventListener("click", () => {
    location.hash = `#/rules/edit?bus=${encodeURIComponent(bus)}&name=${encodeURIComponent(selected.Name)}`;
  });
}

function confirmDelete(rule, bus, status) {
  const dialog = h("dialog", { "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, `Delete rule ${rule.Name}?`),
    h("p", {}, "Its targets are removed with it. This cannot be undone."));
  const close = () => { dialog.close(); dialog.remove(); };
  const remove = async () => {
    try {
      const targets = await all("events", "ListTargetsByRule", { Rule: rule.Name, EventBusName: bus }, "Targets");
      if (targets.length) await call("events", "RemoveTargets", { Rule: rule.Name, EventBusName: bus, Ids: targets.map((t) => t.Id) });
      await call("events", "DeleteRule", { Name: rule.Name, EventBusName: bus });
      close();
      flash = `Rule ${rule.Name} was deleted.`;
      route();
    } catch (error) {
      close();
      status.textContent = error.message;
    }
  };
  dialog.append(h("div", { class: "toolbar" },
    h("button", { type: "button", onclick: close }, "Cancel"),
    h("button", { type: "button", class: "primary", onclick: remove }, "Delete")));
  document.body.append(dialog);
  dialog.showModal();
}

// ---- create rule -------------------------------------------------------------------------------------------

function parseAge(text) {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match || Number(match[2]) > 59) return { error: "Enter the maximum age as HH:MM, for example 01:30." };
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60;
  if (seconds < 60 || seconds > 86400) return { error: "The maximum age of event must be between 00:01 and 24:00." };
  return { seconds };
}

function hhmm(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function kindOf(arn) {
  const service = arn.split(":")[2];
  return TARGET_KINDS.some(([kind]) => kind === service) ? service : "other";
}

function withOption(control, value) {
  if (value && ![...control.options].some((option) => option.value === value)) control.append(h("option", { value }, value.split(":").pop()));
  control.value = value;
}

// One target's fields; `existing` (a target of ListTargetsByRule) fills them in and keeps its Id.
function targetForm(queues, onremove, existing) {
  let index = 0;
  const kind = select(TARGET_KINDS, "sqs");
  const queue = select(queues.map((arn) => [arn, arn.split(":").pop()]));
  const arn = h("input", { placeholder: "arn:aws:sns:us-east-1:123456789012:my-topic" });
  const queueField = field("Queue", queue);
  const arnField = field("Target ARN", arn);
  const age = h("input", { value: "24:00", placeholder: "HH:MM", inputmode: "numeric" });
  const attempts = h("input", { type: "number", min: 0, max: 185, value: "185" });
  uid += 1;
  const dlqName = `dlq${uid}`;
  const dlqQueue = select(queues.map((a) => [a, a.split(":").pop()]));
  const dlqArn = h("input", { placeholder: "arn:aws:sqs:us-east-1:111122223333:my-dead-letter-queue" });
  const dlqQueueField = field("Dead-letter queue of this account", dlqQueue);
  const dlqArnField = field("Queue ARN of another account", dlqArn);
  const legend = h("legend");
  const removeButton = h("button", { type: "button", onclick: onremove });
  const errors = h("p", { class: "error", role: "alert", hidden: true });
  const sync = () => {
    queueField.hidden = kind.value !== "sqs";
    arnField.hidden = kind.value === "sqs";
    const dlq = box.querySelector(`input[name="${dlqName}"]:checked`).value;
    dlqQueueField.hidden = dlq !== "this";
    dlqArnField.hidden = dlq !== "other";
  };
  kind.addEventListener("change", sync);
  const box = h("fieldset", { class: "target" }, legend, errors,
    field("Target type", kind), queueField, arnField,
    h("fieldset", {}, h("legend", {}, "Retry policy"),
      field("Maximum age of event", age, "HH:MM, from 00:01 to 24:00"),
      field("Retry attempts", attempts, "0 to 185")),
    h("fieldset", {}, h("legend", {}, "Dead-letter queue"),
      h("div", { class: "choice" },
        radio(dlqName, "none", "None", true, () => sync()),
        radio(dlqName, "this", "A queue of this account", false, () => sync()),
        radio(dlqName, "other", "Another account's queue", false, () => sync())),
      dlqQueueField, dlqArnField),
    removeButton);
  box.setIndex = (i) => {
    index = i;
    legend.textContent = `Target ${i + 1}`;
    removeButton.textContent = `Remove target ${i + 1}`;
  };
  if (existing) {
    kind.value = kindOf(existing.Arn);
    if (kind.value === "sqs") withOption(queue, existing.Arn);
    else arn.value = existing.Arn;
    const retry = existing.RetryPolicy || {};
    if (retry.MaximumEventAgeInSeconds !== undefined) age.value = hhmm(retry.MaximumEventAgeInSeconds);
    if (retry.MaximumRetryAttempts !== undefined) attempts.value = String(retry.MaximumRetryAttempts);
    const dead = (existing.DeadLetterConfig || {}).Arn;
    if (dead) {
      const ours = queues.includes(dead);
      box.querySelector(`input[name="${dlqName}"][value="${ours ? "this" : "other"}"]`).checked = true;
      if (ours) dlqQueue.value = dead;
      else dlqArn.value = dead;
    }
  }
  box.targetId = existing ? existing.Id : null;
  sync();
  box.controls = { kind, queue, arn, age, attempts, dlqQueue, dlqArn };
  box.showError = (message) => { errors.textContent = message; errors.hidden = !message; };
  box.read = () => {
    const c = box.controls;
    let ok = true;
    const fail = (control, message) => { showError(control, message); ok = false; };
    for (const control of Object.values(c)) if (document.getElementById(`${control.id}-error`)) showError(control, "");
    box.showError("");
    const target = { Id: box.targetId || `Target${index + 1}`, Arn: kind.value === "sqs" ? queue.value : arn.value.trim() };
    if (!target.Arn) fail(kind.value === "sqs" ? queue : arn, kind.value === "sqs" ? "Choose a queue (this account has none yet)." : "Enter the target's ARN.");
    const parsed = parseAge(age.value);
    if (parsed.error) fail(age, parsed.error);
    const tries = Number(attempts.value);
    if (attempts.value.trim() === "" || !Number.isInteger(tries) || tries < 0 || tries > 185) fail(attempts, "Retry attempts must be a whole number from 0 to 185.");
    target.RetryPolicy = { MaximumEventAgeInSeconds: parsed.seconds, MaximumRetryAttempts: tries };
    const dlq = box.querySelector(`input[name="${dlqName}"]:checked`).value;
    if (dlq === "this") {
      if (!dlqQueue.value) fail(dlqQueue, "Choose a queue (this account has none yet).");
      target.DeadLetterConfig = { Arn: dlqQueue.value };
    } else if (dlq === "other") {
      if (!/^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:.+$/.test(dlqArn.value.trim())) fail(dlqArn, "Enter the ARN of an SQS queue, arn:aws:sqs:REGION:ACCOUNT:NAME.");
      target.DeadLetterConfig = { Arn: dlqArn.value.trim() };
    }
    return ok ? target : null;
  };
  // An API message about targets.N.member.FIELD is shown at that field.
  box.showApiError = (message) => {
    const c = box.controls;
    if (/retryPolicy\.maximumEventAge|MaximumEventAge/i.test(message)) showError(c.age, message);
    else if (/retryPolicy\.maximumRetryAttempts|MaximumRetryAttempts/i.test(message)) showError(c.attempts, message);
    else if (/deadLetterConfig|DeadLetter/i.test(message) || [c.dlqArn.value, c.dlqQueue.value].some((a) => a && message.includes(a))) showError(box.querySelector(`input[name="${dlqName}"]:checked`).value === "other" ? c.dlqArn : c.dlqQueue, message);
    else box.showError(message);
  };
  return box;
}

// The rule being edited (`#/rules/edit?bus=B&name=N`): its description, targets and tags, or null.
async function editedRule(params) {
  if (!params.get("name")) return null;
  const where = { EventBusName: params.get("bus") || "default" };
  const rule = await call("events", "DescribeRule", { Name: params.get("name"), ...where });
  const [targets, tags] = await Promise.all([
    all("events", "ListTargetsByRule", { Rule: rule.Name, ...where }, "Targets"),
    call("events", "ListTagsForResource", { ResourceARN: rule.Arn }),
  ]);
  return { rule, targets, tags: tags.Tags || [] };
}

// The names AWS's console gives the services, by eventSource; any other is named from its eventSource.
const SERVICE_NAMES = {
  "cloudtrail.amazonaws.com": "CloudTrail",
  "events.amazonaws.com": "EventBridge",
  "sqs.amazonaws.com": "SQS",
  "sns.amazonaws.com": "SNS",
  "s3.amazonaws.com": "S3",
  "lambda.amazonaws.com": "Lambda",
  "states.amazonaws.com": "Step Functions",
  "logs.amazonaws.com": "CloudWatch Logs",
  "monitoring.amazonaws.com": "CloudWatch",
  "ec2.amazonaws.com": "EC2",
  "iam.amazonaws.com": "IAM",
  "sts.amazonaws.com": "STS",
  "kms.amazonaws.com": "KMS",
  "dynamodb.amazonaws.com": "DynamoDB",
  "scheduler.amazonaws.com": "EventBridge Scheduler",
  "pipes.amazonaws.com": "EventBridge Pipes",
  "secretsmanager.amazonaws.com": "Secrets Manager",
  "ssm.amazonaws.com": "Systems Manager",
  "cloudformation.amazonaws.com": "CloudFormation",
  "kinesis.amazonaws.com": "Kinesis",
  "firehose.amazonaws.com": "Data Firehose",
  "apigateway.amazonaws.com": "API Gateway",
  "ecs.amazonaws.com": "ECS",
  "ecr.amazonaws.com": "ECR",
  "rds.amazonaws.com": "RDS",
  "route53.amazonaws.com": "Route 53",
  "cognito-idp.amazonaws.com": "Cognito User Pools",
  "signin.amazonaws.com": "Sign-In",
  "organizations.amazonaws.com": "Organizations",
};

function serviceName(source) {
  if (SERVICE_NAMES[source]) return SERVICE_NAMES[source];
  const words = source.replace(/\.amazonaws\.com$/, "").split(/[-.]+/).filter(Boolean);
  return words.map((w) => (w.length <= 3 ? w.toUpperCase() : w[0].toUpperCase() + w.slice(1))).join(" ") || source;
}

async function createPage(params) {
  const [buses, sources, queueUrls, edited] = await Promise.all([
    all("events", "ListEventBuses", {}, "EventBuses"),
    eventSources(),
    all("sqs", "ListQueues", {}, "QueueUrls").catch(() => []),
    editedRule(params),
  ]);
  const queues = queueUrls.map((url) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${url.split("/").pop()}`);
  const name = h("input", { maxlength: 64, autocomplete: "off" });
  const description = h("textarea", { maxlength: 512, rows: 2, class: "short" });
  const provider = select([["AWS", "AWS"]]);
  const services = sources.map((s) => [s, serviceName(s)]).sort((a, b) => a[1].localeCompare(b[1]));
  const service = select(services, sources.includes("cloudtrail.amazonaws.com") ? "cloudtrail.amazonaws.com" : undefined);
  const eventType = select([[CLOUDTRAIL_CALL, CLOUDTRAIL_CALL], ["All Events", "All Events"]]);
  const pattern = h("textarea", { spellcheck: "false" });
  const schedule = h("input", { placeholder: "rate(5 minutes)" });
  const busNames = buses.map((b) => [b.Name, b.Name === "default" ? "AWS default event bus" : `Custom event bus ${b.Name}`]);
  const bus = select(busNames, params.get("bus") || "default");
  const operations = h("select", { multiple: true, size: 6 });
  const operationsBox = field("Specific operation(s)", operations, "The operations seen in recorded calls of this service; choose none for any operation.");
  const chosen = () => [...operations.selectedOptions].map((option) => option.value);
  const regenerate = () => { pattern.value = predefinedPattern(service.value, eventType.value, chosen()); };
  const listOperations = async () => {
    const names = await eventNames(service.value);
    operations.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    operationsBox.hidden = eventType.value !== CLOUDTRAIL_CALL || !names.length;
  };
  service.addEventListener("change", async () => { operations.replaceChildren(); regenerate(); await listOperations(); });
  eventType.addEventListener("change", () => { operationsBox.hidden = eventType.value !== CLOUDTRAIL_CALL || !operations.options.length; regenerate(); });
  operations.addEventListener("change", regenerate);
  await listOperations();
  const handed = edited ? edited.rule.EventPattern : pendingPattern;
  pendingPattern = null;
  if (handed) pattern.value = handed;
  else regenerate();
  const predefined = h("div", {}, field("Service provider", provider), field("Service name", service), field("Event type", eventType), operationsBox);
  const patternBox = h("div", {},
    h("div", { class: "choice", role: "radiogroup", "aria-label": "Event matching pattern" },
      radio("matching", "predefined", "Pre-defined pattern by service", !handed, () => { predefined.hidden = false; regenerate(); }),
      radio("matching", "custom", "Custom pattern", Boolean(handed), () => { predefined.hidden = true; })),
    predefined,
    field("Event pattern JSON", pattern, "Edit it if you like: the rule is created with this pattern."));
  predefined.hidden = Boolean(handed);
  const scheduleBox = field("Schedule expression", schedule);
  scheduleBox.hidden = true;
  const kindChanged = (isSchedule) => { patternBox.hidden = isSchedule; scheduleBox.hidden = !isSchedule; };
  kindChanged(Boolean(edited && edited.rule.ScheduleExpression));
  const targetList = h("div");
  const addTarget = h("button", { type: "button" }, "Add target");
  const targetsState = [];
  const renumber = () => {
    targetsState.forEach((box, i) => box.setIndex(i));
    addTarget.disabled = targetsState.length >= MAX_TARGETS;
  };
  const newTarget = (existing) => {
    if (targetsState.length >= MAX_TARGETS) return;
    const box = targetForm(queues, () => { box.remove(); targetsState.splice(targetsState.indexOf(box), 1); renumber(); }, existing);
    targetsState.push(box);
    targetList.append(box);
    renumber();
  };
  addTarget.addEventListener("click", () => newTarget());
  if (edited) edited.targets.forEach(newTarget);
  else newTarget();
  const tagList = h("div");
  const addTag = h("button", { type: "button" }, "Add tag");
  const newTag = (tag) => {
    const key = h("input", { maxlength: 128, value: tag ? tag.Key : "" });
    const value = h("input", { maxlength: 256, value: tag ? tag.Value : "" });
    const legend = h("legend");
    const remove = h("button", { type: "button", onclick: () => { row.remove(); numberTags(); } });
    const row = h("fieldset", { class: "tag" }, legend, field("Key", key), field("Value", value), remove);
    row.controls = { key, value };
    row.setIndex = (i) => {
      legend.textContent = `Tag ${i + 1}`;
      remove.textContent = `Remove tag ${i + 1}`;
    };
    tagList.append(row);
    numberTags();
  };
  const numberTags = () => [...tagList.children].forEach((row, i) => row.setIndex(i));
  addTag.addEventListener("click", () => newTag());
  if (edited) edited.tags.forEach(newTag);
  const status = h("p", { class: "error", role: "alert", hidden: true });
  const create = h("button", { type: "submit", class: "primary" }, edited ? "Save" : "Create");
  if (edited) {
    const rule = edited.rule;
    name.value = rule.Name;
    name.readOnly = true; // a rule's name cannot change
    bus.disabled = true;
    description.value = rule.Description || "";
    if (rule.ScheduleExpression) schedule.value = rule.ScheduleExpression;
  }
  const form = h("form", { novalidate: true },
    h("fieldset", {}, h("legend", {}, "Name and description"), field("Name", name, "Up to 64 letters, digits, . - _"), field("Description", description)),
    h("fieldset", {}, h("legend", {}, "Define pattern"),
      h("div", { class: "choice", role: "radiogroup", "aria-label": "Pattern kind" },
        radio("kind", "pattern", "Event pattern", !(edited && edited.rule.ScheduleExpression), () => kindChanged(false)),
        radio("kind", "schedule", "Schedule", Boolean(edited && edited.rule.ScheduleExpression), () => kindChanged(true))),
      patternBox, scheduleBox),
    h("fieldset", {}, h("legend", {}, "Select event bus"), field("Event bus", bus)),
    h("fieldset", {}, h("legend", {}, "Select targets"), h("p", { class: "hint" }, `Up to ${MAX_TARGETS} targets.`), targetList, addTarget),
    h("fieldset", {}, h("legend", {}, "Tags"), h("p", { class: "hint" }, "Optional."), tagList, addTag),
    status,
    h("div", { class: "toolbar" },
      h("button", { type: "button", onclick: () => { location.hash = `#/rules?bus=${encodeURIComponent(bus.value)}`; } }, "Cancel"),
      create));
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const ruleFields = { name, description, eventPattern: pattern, scheduleExpression: schedule };
    for (const control of Object.values(ruleFields)) showError(control, "");
    status.hidden = true;
    const isSchedule = form.querySelector('input[name="kind"]:checked').value === "schedule";
    let ok = true;
    if (!name.value.trim()) { showError(name, "Name is required."); ok = false; }
    if (!isSchedule) {
      try {
        JSON.parse(pattern.value);
      } catch (error) {
        showError(pattern, `The event pattern is not valid JSON: ${error.message}`);
        ok = false;
      }
    }
    const targets = targetsState.map((box) => box.read());
    if (targets.includes(null)) ok = false;
    else uniqueIds(targets, targetsState.map((box) => box.targetId));
    const tags = [...tagList.children].map((row) => ({ Key: row.controls.key.value.trim(), Value: row.controls.value.value }));
    for (const [i, tag] of tags.entries()) {
      if (!tag.Key) { showError(tagList.children[i].controls.key, "A tag needs a key."); ok = false; }
    }
    if (!ok) return;
    const rule = { Name: name.value.trim(), EventBusName: bus.value, State: edited ? edited.rule.State : "ENABLED" };
    if (description.value || (edited && edited.rule.Description)) rule.Description = description.value;
    if (isSchedule) rule.ScheduleExpression = schedule.value.trim();
    else rule.EventPattern = pattern.value;
    if (tags.length && !edited) rule.Tags = tags;
    create.disabled = true;
    try {
      const made = await call("events", "PutRule", rule);
      if (edited) await retag(made.RuleArn, edited.tags, tags);
    } catch (error) {
      create.disabled = false;
      const at = /at '(\w+)'/.exec(error.message);
      const control = (at && ruleFields[at[1]]) || guessRuleField(error.message, ruleFields, isSchedule);
      if (control) showError(control, error.message);
      else { status.textContent = error.message; status.hidden = false; }
      return;
    }
    if (edited) {
      const kept = new Set(targets.map((t) => t.Id));
      const removed = edited.targets.map((t) => t.Id).filter((id) => !kept.has(id));
      try {
        if (removed.length) await call("events", "RemoveTargets", { Rule: rule.Name, EventBusName: bus.value, Ids: removed });
      } catch (error) {
        create.disabled = false;
        status.textContent = error.message;
        status.hidden = false;
        return;
      }
    }
    if (targets.length) {
      let failed = [];
      try {
        const answer = await call("events", "PutTargets", { Rule: rule.Name, EventBusName: bus.value, Targets: targets });
        failed = answer.FailedEntries || [];
        for (const entry of failed) targetsState[targets.findIndex((t) => t.Id === entry.TargetId)].showApiError(entry.ErrorMessage);
      } catch (error) {
        const at = /targets\.(\d+)\.member/.exec(error.message);
        const named = targets.findIndex((t) => error.message.includes(`Target ${t.Id}:`));
        (targetsState[at ? Number(at[1]) - 1 : Math.max(named, 0)] || targetsState[0]).showApiError(error.message);
        failed = [error];
      }
      if (failed.length) {
        create.disabled = false;
        status.textContent = `Rule ${rule.Name} was ${edited ? "saved" : "created"}, but not all of its targets: correct them and choose ${create.textContent} again.`;
        status.hidden = false;
        return;
      }
    }
    flash = `Rule ${rule.Name} was ${edited ? "saved" : "created"}.`;
    location.hash = `#/rules?bus=${encodeURIComponent(bus.value)}`;
  });
  page(edited ? `Edit rule ${edited.rule.Name}` : "Create rule", form);
}

// Targets kept from the rule keep their ids (`kept[i]`); new ones get the first TargetN ids still free.
function uniqueIds(targets, kept) {
  const used = new Set(kept.filter(Boolean));
  targets.forEach((target, i) => {
    if (kept[i]) return;
    let id = target.Id;
    for (let n = 1; used.has(id); n += 1) id = `Target${n}`;
    target.Id = id;
    used.add(id);
  });
}

async function retag(arn, before, after) {
  const keys = new Set(after.map((tag) => tag.Key));
  const gone = before.map((tag) => tag.Key).filter((key) => !keys.has(key));
  if (gone.length) await call("events", "UntagResource", { ResourceARN: arn, TagKeys: gone });
  if (after.length) await call("events", "TagResource", { ResourceARN: arn, Tags: after });
}

function guessRuleField(message, fields, isSchedule) {
  if (/pattern/i.test(message) && !isSchedule) return fields.eventPattern;
  if (/schedule/i.test(message)) return fields.scheduleExpression;
  if (/description/i.test(message)) return fields.description;
  if (/name/i.test(message)) return fields.name;
  return null;
}

// ---- recorded calls ----------------------------------------------------------------------------------------

const LOOKUP_ATTRIBUTES = [
  ["", "Any"],
  ["EventName", "Event name"],
  ["EventSource", "Event source"],
  ["Username", "User name"],
  ["ResourceType", "Resource type"],
  ["ResourceName", "Resource name"],
  ["EventId", "Event ID"],
  ["ReadOnly", "Read only"],
  ["AccessKeyId", "Access key ID"],
];

function record(event) {
  return JSON.parse(event.CloudTrailEvent);
}

async function patternFrom(event) {
  const envelope = JSON.parse((await post("/console/sandbox/event", { record: record(event) })).event);
  return JSON.stringify({
    source: [envelope.source],
    "detail-type": [envelope["detail-type"]],
    detail: { eventSource: [envelope.detail.eventSource], eventName: [envelope.detail.eventName] },
  }, null, 2);
}

async function historyPage() {
  const attribute = select(LOOKUP_ATTRIBUTES, "");
  const value = h("input", { autocomplete: "off" });
  const start = h("input", { type: "datetime-local", step: 1 });
  const end = h("input", { type: "datetime-local", step: 1 });
  const search = h("button", { type: "submit", class: "primary" }, "Search");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const status = h("p", { role: "status" });
  const body = h("tbody");
  const form = h("form", { class: "toolbar", novalidate: true },
    field("Lookup attribute", attribute), field("Attribute value", value), field("Start time", start), field("End time", end), search);
  const table = h("table", {},
    h("thead", {}, h("tr", {}, ["Event time", "Event name", "Event source", "User name", "Actions"].map((t) => h("th", { scope: "col" }, t)))), body);
  page("Event history", form, status, table, more);
  let token = null;
  const show = (event) => {
    const json = h("pre", { tabindex: 0, "aria-label": `Record of ${event.EventName} ${event.EventId}` }, JSON.stringify(record(event), null, 2));
    const recordRow = h("tr", { class: "record", hidden: true }, h("td", { colspan: 5 }, json));
    const view = h("button", { type: "button", "aria-expanded": "false" }, `View record ${event.EventName}`);
    view.addEventListener("click", () => {
      recordRow.hidden = !recordRow.hidden;
      view.setAttribute("aria-expanded", String(!recordRow.hidden));
    });
    const rule = h("button", { type: "button" }, `Create rule from this event ${event.EventName}`);
    rule.addEventListener("click", async () => {
      try {
        pendingPattern = await patternFrom(event);
        location.hash = "#/rules/create";
      } catch (error) {
        status.textContent = error.message;
      }
    });
    body.append(
      h("tr", {},
        h("td", { "data-label": "Event time" }, new Date(event.EventTime * 1000).toISOString()),
        h("td", { "data-label": "Event name" }, event.EventName),
        h("td", { "data-label": "Event source" }, event.EventSource),
        h("td", { "data-label": "User name" }, event.Username || "-"),
        h("td", { "data-label": "Actions" }, view, " ", rule)),
      recordRow);
  };
  const lookup = async (again) => {
    for (const control of [value, start, end]) showError(control, "");
    const query = { MaxResults: 50 };
    if (attribute.value) query.LookupAttributes = [{ AttributeKey: attribute.value, AttributeValue: value.value }];
    if (start.value) query.StartTime = new Date(start.value).getTime() / 1000;
    if (end.value) query.EndTime = new Date(end.value).getTime() / 1000;
    if (again && token) query.NextToken = token;
    try {
      const answer = await call("cloudtrail", "LookupEvents", query);
      if (!again) body.replaceChildren();
      (answer.Events || []).forEach(show);
      token = answer.NextToken || null;
      more.hidden = !token;
      status.textContent = body.children.length ? `${body.children.length / 2} recorded calls.` : "No recorded calls match.";
    } catch (error) {
      const control = /time/i.test(error.message) ? (/end/i.test(error.message) ? end : start) : value;
      showError(control, error.message);
    }
  };
  form.addEventListener("submit", (submitted) => { submitted.preventDefault(); lookup(false); });
  more.addEventListener("click", () => lookup(true));
  await lookup(false);
}

// ---- sandbox -----------------------------------------------------------------------------------------------

async function sandboxPage() {
  const events = await all("cloudtrail", "LookupEvents", { MaxResults: 50 }, "Events", 4).catch(() => []);
  const pattern = h("textarea", { spellcheck: "false" });
  pattern.value = JSON.stringify({ source: ["aws.sqs"], "detail-type": [CLOUDTRAIL_CALL], detail: { eventName: ["CreateQueue"] } }, null, 2);
  const recorded = select([["", "None: paste an event below"],
    ...events.map((e, i) => [String(i), `${new Date(e.EventTime * 1000).toISOString()} ${e.EventSource} ${e.EventName}`])]);
  const sample = select([["", "None"], ...SERVED_SOURCES.map((source) => [source, source])]);
  const event = h("textarea", { spellcheck: "false" });
  if (pendingEvent) event.value = pendingEvent;
  pendingEvent = null;
  const test = h("button", { type: "submit", class: "primary" }, "Test pattern");
  const verdict = h("p", { role: "status" });
  const explanation = h("pre", { tabindex: 0, "aria-label": "Explanation" });
  const hintList = h("ul", { "aria-label": "Hints" });
  const result = h("section", { "aria-labelledby": "result-title", hidden: true },
    h("h2", { id: "result-title" }, "Result"), verdict, explanation, h("h2", {}, "Hints"), hintList);
  const fields = { pattern, event };
  const showHints = (found) => {
    const items = found.map((hint) => h("li", {}, hint.message, hint.corrected ? h("div", {}, h("code", {}, hint.corrected), " ",
      h("button", { type: "button", onclick: () => { pattern.value = hint.corrected; } }, "Use this pattern")) : null));
    hintList.replaceChildren(...(items.length ? items : [h("li", {}, "None.")]));
  };
  recorded.addEventListener("change", async () => {
    if (!recorded.value) return;
    try {
      event.value = (await post("/console/sandbox/event", { record: record(events[Number(recorded.value)]) })).event;
      showError(event, "");
    } catch (error) {
      showError(event, error.message);
    }
  });
  // A service's sample: the EventBridge event of its latest recorded call (LookupEvents by EventSource), or
  // without one of the real CloudTrail record of the service that static/samples.json ships (console/samples.py).
  sample.addEventListener("change", async () => {
    if (!sample.value) return;
    const filter = { MaxResults: 1, LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: sample.value }] };
    try {
      const [latest] = (await call("cloudtrail", "LookupEvents", filter)).Events || [];
      const shipped = latest ? null : (await (await fetch("/console/static/samples.json")).json()).samples[sample.value];
      if (!latest && !shipped) throw new Error(`No call of ${sample.value} is recorded yet, and no sample ships: make one, or paste an event.`);
      event.value = (await post("/console/sandbox/event", { record: latest ? record(latest) : shipped })).event;
      showError(event, "");
    } catch (error) {
      showError(event, error.message);
    }
  });
  const form = h("form", { novalidate: true },
    field("Event pattern", pattern),
    field("Recorded call", recorded, "Pick a recorded call to test its EventBridge event, or paste any event."),
    field("Sample event of a service", sample, "The event of the service's latest recorded call, or of a real CloudTrail record of it when none is recorded."),
    field("Event", event), test);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    for (const control of Object.values(fields)) showError(control, "");
    try {
      const answer = await post("/console/sandbox/test", { pattern: pattern.value, event: event.value, records: events.map(record) });
      verdict.textContent = answer.matched ? "The pattern matches the event." : "The pattern does not match the event.";
      explanation.textContent = answer.text;
      showHints(answer.hints);
    } catch (error) {
      showError(fields[error.field] || pattern, error.message);
      verdict.textContent = error.field === "pattern" ? "The pattern is not valid." : "The event cannot be tested.";
      explanation.textContent = error.message;
      showHints(error.hints || []);
    }
    result.hidden = false;
  });
  page("Sandbox", form, result);
}

// ---- trails ----------------------------------------------------------------------------------------------

const when = (seconds) => (seconds ? new Date(seconds * 1000).toISOString() : "never");

async function trailsPage() {
  const trails = (await call("cloudtrail", "DescribeTrails", {})).trailList || [];
  const status = h("p", { role: "status" }, flash);
  flash = "";
  const body = h("tbody");
  const columns = ["Name", "Home region", "Bucket", "Multi-region", "Log file validation", "Logging", "Last log file", "Last digest", "Actions"];
  const report = h("div");
  page("Trails", status, h("table", {}, h("thead", {}, h("tr", {}, columns.map((t) => h("th", { scope: "col" }, t)))), body), report);
  if (!trails.length) body.append(h("tr", {}, h("td", { colspan: columns.length }, "No trails: create one with CreateTrail.")));
  for (const trail of trails) {
    const cells = Object.fromEntries(["Logging", "Last log file", "Last digest"].map((c) => [c, h("td", { "data-label": c }, "…")]));
    const action = h("td", { "data-label": "Actions" });
    body.append(h("tr", {},
      h("td", { "data-label": "Name" }, trail.Name),
      h("td", { "data-label": "Home region" }, trail.HomeRegion),
      h("td", { "data-label": "Bucket" }, h("code", {}, `${trail.S3BucketName}/${trail.S3KeyPrefix || ""}`)),
      h("td", { "data-label": "Multi-region" }, trail.IsMultiRegionTrail ? "Yes" : "No"),
      h("td", { "data-label": "Log file validation" }, trail.LogFileValidationEnabled ? "Enabled" : "Disabled"),
      cells.Logging, cells["Last log file"], cells["Last digest"], action));
    call("cloudtrail", "GetTrailStatus", { Name: trail.TrailARN }).then((answer) => {
      cells.Logging.textContent = answer.IsLogging ? "Yes" : "No";
      cells["Last log file"].textContent = when(answer.LatestDeliveryTime);
      cells["Last digest"].textContent = when(answer.LatestDigestDeliveryTime);
      const operation = answer.IsLogging ? "StopLogging" : "StartLogging";
      const label = `${answer.IsLogging ? "Stop" : "Start"} logging ${trail.Name}`;
      action.replaceChildren(h("button", { type: "button", onclick: async () => {
        try {
          await call("cloudtrail", operation, { Name: trail.TrailARN });
          flash = `Trail ${trail.Name} ${answer.IsLogging ? "stopped" : "started"} logging.`;
          route();
        } catch (error) {
          status.textContent = error.message;
        }
      } }, label), " ", h("button", { type: "button", onclick: () => validateTrail(trail, report, status) }, `Validate now ${trail.Name}`),
      " ", h("button", { type: "button", onclick: () => trailFiles(trail, report, status) }, `Log files of ${trail.Name}`));
    }, (error) => { cells.Logging.textContent = error.message; });
  }
}

const MAX_FILE_PAGES = 5; // ListObjectsV2 pages (1,000 keys each) a trail's file list reads

// The log files and digests the trail delivered: ListObjectsV2 on its bucket under PREFIX/AWSLogs/, made as the key.
async function trailFiles(trail, report, status) {
  const prefix = `${trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ""}AWSLogs/`;
  try {
    const objects = await all("s3", "ListObjectsV2", { Bucket: trail.S3BucketName, Prefix: prefix }, "Contents",
      MAX_FILE_PAGES, ["ContinuationToken", "NextContinuationToken"]);
    const kind = (key) => (key.includes("/CloudTrail-Digest/") ? "Digest" : "Log file");
    const rows = objects.map((o) => [kind(o.Key), h("code", {}, o.Key), String(o.Size), when(o.LastModified)]);
    report.replaceChildren(h("section", { "aria-labelledby": "files-title" },
      h("h2", { id: "files-title" }, `Log files of ${trail.Name} in ${trail.S3BucketName}`),
      h("p", {}, `${objects.filter((o) => kind(o.Key) === "Log file").length} log files, ${objects.filter((o) => kind(o.Key) === "Digest").length} digests under ${prefix}.`),
      table(["File type", "Key", "Size (bytes)", "Last modified"], rows, "No log files or digests yet.")));
  } catch (error) {
    status.textContent = `The files of ${trail.Name} were not listed: ${error.message}`;
  }
}

// The log-file validator's report on the trail's bucket (what `aws cloudtrail validate-logs` checks).
async function validateTrail(trail, report, status) {
  status.textContent = `Validating the log files of ${trail.Name}…`;
  try {
    const answer = await post("/console/trails/validate", { Trail: trail.TrailARN });
    status.textContent = `Trail ${trail.Name}: ${answer.Valid ? "every digest and log file is valid" : "INVALID files found"}.`;
    report.replaceChildren(h("section", { "aria-labelledby": "validation-title" },
      h("h2", { id: "validation-title" }, `Validation of ${trail.Name} in ${answer.Bucket}`),
      h("ul", { "aria-label": "Summary" }, answer.Summary.map((line) => h("li", {}, line))),
      answer.Notes.length ? h("ul", { "aria-label": "Notes" }, answer.Notes.map((line) => h("li", {}, line))) : null,
      table(["File type", "File", "Result"], answer.Lines.map(([kind, uri, result]) => [kind, h("code", {}, uri), result]), "No files checked.")));
  } catch (error) {
    status.textContent = `Trail ${trail.Name} was not validated: ${error.message}`;
  }
}

// ---- queues ----------------------------------------------------------------------------------------------

const DEAD_LETTER_ATTRIBUTES = ["ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN"];

async function queuesPage() {
  const urls = await all("sqs", "ListQueues", { MaxResults: 1000 }, "QueueUrls");
  const body = h("tbody");
  page("Queues", h("table", {},
    h("thead", {}, h("tr", {}, ["Name", "Type", "Messages available", "Messages in flight"].map((t) => h("th", { scope: "col" }, t)))), body));
  if (!urls.length) body.append(h("tr", {}, h("td", { colspan: 4 }, "No queues in this account and region.")));
  for (const url of urls) {
    const name = url.split("/").pop();
    const available = h("td", { "data-label": "Messages available" }, "…");
    const inFlight = h("td", { "data-label": "Messages in flight" }, "…");
    body.append(h("tr", {},
      h("td", { "data-label": "Name" }, h("a", { href: `#/queues/view?url=${encodeURIComponent(url)}` }, name)),
      h("td", { "data-label": "Type" }, name.endsWith(".fifo") ? "FIFO" : "Standard"), available, inFlight));
    call("sqs", "GetQueueAttributes", { QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }).then((answer) => {
      available.textContent = answer.Attributes.ApproximateNumberOfMessages;
      inFlight.textContent = answer.Attributes.ApproximateNumberOfMessagesNotVisible;
    }, (error) => { available.textContent = error.message; inFlight.textContent = ""; });
  }
}

async function queuePage(params) {
  const url = params.get("url");
  const attributes = (await call("sqs", "GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] })).Attributes || {};
  const details = h("dl", { class: "attributes" }, Object.entries(attributes).sort().flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))]));
  const poll = h("button", { type: "button", class: "primary" }, "Poll for messages");
  const status = h("p", { role: "status" });
  const list = h("div");
  const activity = h("div", {}, h("p", {}, "Loading…"));
  page(`Queue ${url.split("/").pop()}`, h("h2", {}, "Details"), details, h("h2", {}, "Messages"),
    h("p", { class: "hint" }, "Polling shows up to 10 messages and leaves them in the queue (visibility timeout 0). A dead-letter queue's messages show why the event could not be delivered."),
    poll, status, list,
    h("h2", {}, "Recent activity"),
    h("p", { class: "hint" }, "Messages per minute in the last hour sent, received and deleted through this server's SQS API, from its metrics."),
    activity);
  poll.addEventListener("click", async () => {
    const answer = await call("sqs", "ReceiveMessage", {
      QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
    });
    const messages = answer.Messages || [];
    status.textContent = messages.length ? `${messages.length} messages.` : "No messages available.";
    list.replaceChildren(...messages.map((message) => messageCard(url, message, status)));
  });
  await queueActivity(url, activity);
}

const QUEUE_CHARTS = [
  ["NumberOfMessagesSent", "Messages sent"],
  ["NumberOfMessagesReceived", "Messages received"],
  ["NumberOfMessagesDeleted", "Messages deleted"],
];

async function queueActivity(url, slot) {
  try {
    const answer = await post("/console/deliveries", { Queue: url, Minutes: 60 });
    const points = (metric) => ((answer.Series.find((x) => x.Metric === metric) || {}).Points || []);
    slot.replaceChildren(h("div", { class: "charts" }, QUEUE_CHARTS.map(([metric, title]) => chart(title, `queue ${url.split("/").pop()}`, points(metric), answer))));
  } catch (error) {
    slot.replaceChildren(h("p", {}, error.message));
  }
}

function messageCard(url, message, status) {
  const attributes = message.MessageAttributes || {};
  const sent = message.Attributes && message.Attributes.SentTimestamp;
  const rows = [["Message ID", message.MessageId], ["Sent", sent ? new Date(Number(sent)).toISOString() : "-"],
    ...DEAD_LETTER_ATTRIBUTES.filter((name) => attributes[name]).map((name) => [name, attributes[name].StringValue])];
  const card = h("section", { class: "message", "aria-label": `Message ${message.MessageId}` },
    h("dl", { class: "attributes" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))])),
    h("pre", { tabindex: 0, "aria-label": `Body of message ${message.MessageId}` }, message.Body));
  const sandbox = h("button", { type: "button" }, "Test in Sandbox");
  sandbox.addEventListener("click", () => { pendingEvent = message.Body; location.hash = "#/sandbox"; });
  const remove = h("button", { type: "button" }, "Delete message");
  remove.addEventListener("click", async () => {
    try {
      await call("sqs", "DeleteMessage", { QueueUrl: url, ReceiptHandle: message.ReceiptHandle });
      card.remove();
      status.textContent = `Message ${message.MessageId} was deleted.`;
    } catch (error) {
      status.textContent = error.message;
    }
  });
  const redrive = attributes.RULE_ARN ? h("button", { type: "button" }, "Redrive to source") : null;
  if (redrive) {
    redrive.addEventListener("click", async () => {
      try {
        const answer = await post("/console/redrive", { QueueUrl: url, MessageId: message.MessageId });
        card.remove();
        status.textContent = `Message ${message.MessageId} was redriven to ${answer.TargetArn} of ${answer.RuleArn.split(":").pop()} as event ${answer.EventId}.`;
      } catch (error) {
        status.textContent = `Message ${message.MessageId} was not redriven: ${error.message}`;
      }
    });
  }
  card.append(h("div", { class: "toolbar" }, sandbox, redrive, remove));
  return card;
}

// ---- topics, functions, state machines ---------------------------------------------------------------------

const iso = (seconds) => (seconds ? new Date(seconds * 1000).toISOString() : "-");
const nameOf = (arn) => arn.split(":").pop();

function table(columns, rows, empty) {
  const body = h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))));
  if (!rows.length) body.append(h("tr", {}, h("td", { colspan: columns.length }, empty)));
  return h("table", {}, h("thead", {}, h("tr", {}, columns.map((t) => h("th", { scope: "col" }, t)))), body);
}

function attributeList(entries) {
  const shown = (v) => (v instanceof Node ? v : h("code", {}, v === undefined || v === null ? "-" : String(v)));
  return h("dl", { class: "attributes" }, entries.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, shown(v))]));
}

async function topicsPage() {
  const topics = await all("sns", "ListTopics", {}, "Topics");
  page("Topics", table(["Name", "ARN"], topics.map((t) => [
    h("a", { href: `#/topics/view?arn=${encodeURIComponent(t.TopicArn)}` }, nameOf(t.TopicArn)), h("code", {}, t.TopicArn)]),
  "No topics in this account and region."));
}

async function topicPage(params) {
  const arn = params.get("arn");
  const [attributes, subscriptions] = await Promise.all([
    call("sns", "GetTopicAttributes", { TopicArn: arn }),
    all("sns", "ListSubscriptionsByTopic", { TopicArn: arn }, "Subscriptions"),
  ]);
  const shown = Object.entries(attributes.Attributes || {}).filter(([k]) => k !== "Policy" && k !== "EffectiveDeliveryPolicy").sort();
  const activity = h("div", {}, h("p", {}, "Loading…"));
  page(`Topic ${nameOf(arn)}`,
    h("h2", {}, "Subscriptions"),
    table(["Protocol", "Endpoint", "Subscription ARN"], subscriptions.map((s) => [s.Protocol, h("code", {}, s.Endpoint), h("code", {}, s.SubscriptionArn)]), "No subscriptions."),
    h("h2", {}, "Recent activity"),
    h("p", { class: "hint" }, "Notifications per minute in the last hour to the subscriptions this server delivers itself (HTTP/S, Lambda, email), from its metrics."),
    activity,
    h("h2", {}, "Attributes"), attributeList(shown),
    h("h2", {}, "Access policy"), h("pre", { tabindex: 0, "aria-label": "Access policy" }, prettyJson(attributes.Attributes && attributes.Attributes.Policy)));
  await topicActivity(arn, subscriptions, activity);
}

const TOPIC_CHARTS = [
  ["NumberOfNotificationsDelivered", "Notifications delivered"],
  ["NumberOfNotificationsFailed", "Notifications failed"],
  ["NumberOfNotificationsRedrivenToDlq", "Moved to a dead-letter queue"],
];

async function topicActivity(arn, subscriptions, slot) {
  try {
    const answer = await post("/console/deliveries", { Topic: arn, Minutes: 60 });
    const counted = subscriptions.filter((s) => answer.Series.some((series) => series.TargetId === s.SubscriptionArn));
    slot.replaceChildren(...(counted.length ? counted.map((s) => {
      const points = (metric) => ((answer.Series.find((x) => x.Metric === metric && x.TargetId === s.SubscriptionArn) || {}).Points || []);
      const id = s.SubscriptionArn.split(":").pop();
      return h("section", { "aria-label": `Subscription ${id}`, class: "target-charts" },
        h("h3", {}, `${s.Protocol} subscription ${id}`), h("p", {}, h("code", {}, s.Endpoint)),
        h("div", { class: "charts" }, TOPIC_CHARTS.map(([metric, title]) => chart(title, `subscription ${id}`, points(metric), answer))));
    }) : [h("p", {}, "No notifications delivered in the last hour.")]));
  } catch (error) {
    slot.replaceChildren(h("p", {}, error.message));
  }
}

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (_) {
    return text || "-";
  }
}

async function functionsPage() {
  const functions = await all("lambda", "ListFunctions", { MaxItems: 50 }, "Functions", 20, ["Marker", "NextMarker"]);
  page("Functions", table(["Name", "Runtime", "Memory (MB)", "Last modified"], functions.map((f) => [
    h("a", { href: `#/functions/view?name=${encodeURIComponent(f.FunctionName)}` }, f.FunctionName), f.Runtime || f.PackageType, String(f.MemorySize), f.LastModified]),
  "No functions in this account and region."));
}

// A REPORT line of a function's log: its request id, duration, billed duration and memory.
const REPORT = /^REPORT RequestId: (\S+)\s+Duration: ([\d.]+ ms)\s+Billed Duration: ([\d.]+ ms)\s+Memory Size: (\d+ MB)\s+Max Memory Used: (\d+ MB)/;

async function functionPage(params) {
  const name = params.get("name");
  const config = await call("lambda", "GetFunctionConfiguration", { FunctionName: name });
  const shown = ["FunctionArn", "Runtime", "Handler", "Role", "MemorySize", "Timeout", "CodeSize", "State", "LastModified", "Version"].map((k) => [k, config[k]]);
  const env = Object.entries((config.Environment && config.Environment.Variables) || {}).map(([k]) => [k, "(set)"]);
  const invocations = h("div", {}, h("p", {}, "Loading…"));
  page(`Function ${name}`, h("h2", {}, "Configuration"), attributeList(shown),
    env.length ? h("div", {}, h("h2", {}, "Environment variables"), attributeList(env)) : null,
    h("h2", {}, "Recent invocations"),
    h("p", { class: "hint" }, `From the REPORT lines of log group /aws/lambda/${name}, newest first.`), invocations);
  try {
    const logged = await call("logs", "FilterLogEvents", { logGroupName: `/aws/lambda/${name}`, filterPattern: "REPORT", limit: 200 });
    const reports = (logged.events || []).map((e) => [e, REPORT.exec(e.message)]).filter(([, m]) => m).reverse().slice(0, 50);
    invocations.replaceChildren(table(["Time", "Request ID", "Duration", "Billed duration", "Max memory used"],
      reports.map(([e, m]) => [new Date(e.timestamp).toISOString(), h("code", {}, m[1]), m[2], m[3], `${m[5]} of ${m[4]}`]), "No invocations logged yet."));
  } catch (error) {
    invocations.replaceChildren(h("p", {}, error.code === "ResourceNotFoundException" ? "No invocations logged yet." : error.message));
  }
}

async function machinesPage() {
  const machines = await all("stepfunctions", "ListStateMachines", {}, "stateMachines", 20, ["nextToken", "nextToken"]);
  page("State machines", table(["Name", "Type", "Created"], machines.map((m) => [
    h("a", { href: `#/machines/view?arn=${encodeURIComponent(m.stateMachineArn)}` }, m.name), m.type, iso(m.creationDate)]),
  "No state machines in this account and region."));
}

async function machinePage(params) {
  const arn = params.get("arn");
  const [machine, executions] = await Promise.all([
    call("stepfunctions", "DescribeStateMachine", { stateMachineArn: arn }),
    call("stepfunctions", "ListExecutions", { stateMachineArn: arn, maxResults: 50 }),
  ]);
  page(`State machine ${machine.name}`,
    attributeList([["ARN", machine.stateMachineArn], ["Type", machine.type], ["Status", machine.status], ["Role", machine.roleArn], ["Created", iso(machine.creationDate)]]),
    h("h2", {}, "Executions"),
    table(["Name", "Status", "Started", "Stopped"], (executions.executions || []).map((e) => [
      h("a", { href: `#/executions/view?arn=${encodeURIComponent(e.executionArn)}` }, e.name), e.status, iso(e.startDate), iso(e.stopDate)]),
    "No executions yet."),
    h("h2", {}, "Graph"), stateGraph(JSON.parse(machine.definition), null, machine.name),
    h("h2", {}, "Definition"), h("pre", { tabindex: 0, "aria-label": "Definition" }, JSON.stringify(JSON.parse(machine.definition), null, 2)));
}

// The states a state leads to: Next, a Choice's choices and Default, its Catch handlers.
function transitions(state) {
  const next = [];
  if (state.Next) next.push(state.Next);
  for (const choice of state.Choices || []) if (choice.Next) next.push(choice.Next);
  if (state.Default) next.push(state.Default);
  for (const handler of state.Catch || []) if (handler.Next) next.push(handler.Next);
  return [...new Set(next)];
}

// Where each state of the definition was: the states entered and exited in order, and the one entered last and
// not exited (the current one) or, for an execution that ended, the one it ended in.
function progress(events) {
  const entered = [];
  const exited = new Set();
  for (const event of events) {
    const type = event.type || "";
    if (type.endsWith("StateEntered")) entered.push(event.stateEnteredEventDetails.name);
    if (type.endsWith("StateExited")) exited.add(event.stateExitedEventDetails.name);
  }
  const open = entered.filter((name) => !exited.has(name));
  return { visited: new Set(entered), current: open.length ? open[open.length - 1] : entered[entered.length - 1] || null };
}

// An SVG of the states (top level; a Parallel or Map state is one box) in rows by their distance from StartAt,
// the transitions as arrows, and the current state marked.
function stateGraph(definition, where, title) {
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, ...children) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const states = definition.States || {};
  const depth = new Map([[definition.StartAt, 0]]);
  const queue = [definition.StartAt];
  while (queue.length) {
    const name = queue.shift();
    for (const next of transitions(states[name] || {})) {
      if (!depth.has(next) && states[next]) { depth.set(next, depth.get(name) + 1); queue.push(next); }
    }
  }
  let last = Math.max(0, ...depth.values());
  for (const name of Object.keys(states)) if (!depth.has(name)) depth.set(name, ++last); // unreachable ones at the end
  const rows = [];
  for (const [name, d] of depth) (rows[d] = rows[d] || []).push(name);
  const [W, H, GX, GY] = [170, 40, 30, 40];
  const width = Math.max(...rows.filter(Boolean).map((r) => r.length)) * (W + GX) + GX;
  const at = new Map();
  rows.forEach((row, d) => row && row.forEach((name, i) => {
    const x = (width - row.length * (W + GX) + GX) / 2 + i * (W + GX);
    at.set(name, { x, y: GY / 2 + d * (H + GY) });
  }));
  const height = rows.length * (H + GY);
  const current = where ? where.current : null;
  const label = `Graph of the states of ${title}` + (current ? `; the current state is ${current}` : "");
  const graph = svg("svg", { role: "img", "aria-label": label, viewBox: `0 0 ${width} ${height}`, width, class: "graph" },
    svg("title", {}, label),
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z" }))));
  for (const [name, state] of Object.entries(states)) {
    const from = at.get(name);
    for (const next of transitions(state)) {
      const to = at.get(next);
      if (!to) continue;
      const down = to.y > from.y;
      graph.append(svg("line", { class: "edge", x1: from.x + W / 2, y1: from.y + (down ? H : 0), x2: to.x + W / 2, y2: to.y + (down ? 0 : H), "marker-end": "url(#arrow)" }));
    }
  }
  for (const [name, state] of Object.entries(states)) {
    const { x, y } = at.get(name);
    const kind = name === current ? "current" : where && where.visited.has(name) ? "visited" : "idle";
    const text = `${name} (${state.Type})`;
    graph.append(svg("g", { class: `state ${kind}`, "data-state": name },
      svg("title", {}, kind === "current" ? `${text}, current state` : text),
      svg("rect", { x, y, width: W, height: H, rx: 6 }),
      svg("text", { x: x + W / 2, y: y + H / 2 + 5, "text-anchor": "middle" }, name.length > 22 ? `${name.slice(0, 21)}…` : name)));
  }
  return h("div", { class: "graph-box" }, graph);
}

async function executionPage(params) {
  const arn = params.get("arn");
  const execution = await call("stepfunctions", "DescribeExecution", { executionArn: arn });
  const machine = await call("stepfunctions", "DescribeStateMachine", { stateMachineArn: execution.stateMachineArn });
  const events = await all("stepfunctions", "GetExecutionHistory", { executionArn: arn, maxResults: 1000 }, "events", 10, ["nextToken", "nextToken"]);
  const where = progress(events);
  const state = where.current ? `${execution.status === "RUNNING" ? "Current state" : "Last state"}: ${where.current}` : "No state entered yet.";
  page(`Execution ${execution.name}`,
    attributeList([["Status", execution.status], ["State machine", h("a", { href: `#/machines/view?arn=${encodeURIComponent(machine.stateMachineArn)}` }, machine.name)],
      ["Started", iso(execution.startDate)], ["Stopped", iso(execution.stopDate)], ["Error", execution.error], ["Cause", execution.cause]]),
    h("h2", {}, "Graph"), h("p", { class: "current-state" }, state), stateGraph(JSON.parse(machine.definition), where, execution.name),
    h("h2", {}, "Input"), h("pre", { tabindex: 0, "aria-label": "Input" }, prettyJson(execution.input)),
    execution.output ? h("div", {}, h("h2", {}, "Output"), h("pre", { tabindex: 0, "aria-label": "Output" }, prettyJson(execution.output))) : null,
    h("h2", {}, "History"),
    table(["ID", "Time", "Type", "Step", "Details"], events.map((e) => {
      const details = Object.entries(e).find(([k]) => k.endsWith("EventDetails"));
      const step = details && details[1].name;
      return [String(e.id), iso(e.timestamp), e.type, step || "-", details ? h("code", {}, JSON.stringify(details[1])) : "-"];
    }), "No events."));
}

// ---- deliveries --------------------------------------------------------------------------------------------

const OUTCOME_LABELS = {
  Invocations: "Delivered",
  RetryInvocationAttempts: "Retrying",
  FailedInvocations: "Failed",
  InvocationsSentToDlq: "Dead-lettered",
  InvocationsFailedToBeSentToDlq: "Failed, not dead-lettered",
  DroppedEvents: "Dropped",
};
const CHARTS = [
  ["Invocations", "Invocations"],
  ["FailedInvocations", "Failed invocations"],
  ["RetryInvocationAttempts", "Retries"],
  ["InvocationsSentToDlq", "Dead-lettered events"],
];
const RANGES = [["60", "Last hour"], ["180", "Last 3 hours"], ["15", "Last 15 minutes"]];

function lastOutcome(last) {
  return last ? `${OUTCOME_LABELS[last.Metric] || last.Metric} ${new Date(last.Time * 1000).toISOString()}` : "No delivery yet";
}

const hhmmOf = (seconds) => new Date(seconds * 1000).toISOString().slice(11, 16);

// A bar per minute of the range (counts per minute from the server), its largest count on the axis.
function chart(title, what, points, answer) {
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, ...children) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const step = answer.BucketSeconds;
  const last = Math.floor(answer.Now / step) * step;
  const first = last - (answer.Minutes - 1) * 60;
  const counts = new Map(points.map(([start, count]) => [start, count]));
  const total = points.reduce((sum, [start, count]) => sum + (start >= first ? count : 0), 0);
  const top = Math.max(1, ...counts.values());
  const [W, H, L, B] = [600, 120, 44, 24];
  const slots = answer.Minutes;
  const width = (W - L) / slots;
  const label = `${title} of ${what}: ${total} in the last ${answer.Minutes} minutes`;
  const plot = svg("svg", { role: "img", "aria-label": label, viewBox: `0 0 ${W} ${H + B}`, class: "chart" },
    svg("title", {}, label),
    svg("line", { class: "axis", x1: L, y1: H, x2: W, y2: H }),
    svg("line", { class: "axis", x1: L, y1: 0, x2: L, y2: H }),
    svg("text", { x: L - 4, y: 10, "text-anchor": "end" }, String(top)),
    svg("text", { x: L - 4, y: H, "text-anchor": "end" }, "0"),
    svg("text", { x: L, y: H + B - 4 }, hhmmOf(first)),
    svg("text", { x: W, y: H + B - 4, "text-anchor": "end" }, `${hhmmOf(last)} UTC`));
  for (let i = 0; i < slots; i += 1) {
    const start = first + i * 60;
    const count = counts.get(start) || 0;
    if (!count) continue;
    const height = (count / top) * (H - 4);
    plot.append(svg("rect", { class: "bar", x: L + i * width + 0.5, y: H - height, width: Math.max(1, width - 1), height, "data-count": count, "data-start": start },
      svg("title", {}, `${hhmmOf(start)}: ${count}`)));
  }
  return h("figure", { class: "chart-box" }, h("figcaption", {}, `${title}: ${total}`), plot);
}

async function deliveriesPage(params) {
  const buses = await all("events", "ListEventBuses", {}, "EventBuses");
  const bus = params.get("bus") || "default";
  const rules = await all("events", "ListRules", { EventBusName: bus }, "Rules");
  const name = params.get("rule") || (rules[0] && rules[0].Name) || "";
  const minutes = params.get("minutes") || "60";
  const busSelect = select(buses.map((b) => [b.Name, b.Name]), bus);
  const ruleSelect = select(rules.map((r) => [r.Name, r.Name]), name);
  const range = select(RANGES, minutes);
  const go = (rule) => { location.hash = `#/deliveries?bus=${encodeURIComponent(busSelect.value)}&rule=${encodeURIComponent(rule)}&minutes=${range.value}`; };
  busSelect.addEventListener("change", () => go(""));
  ruleSelect.addEventListener("change", () => go(ruleSelect.value));
  range.addEventListener("change", () => go(ruleSelect.value));
  const charts = h("div");
  page("Deliveries", h("div", { class: "toolbar" }, field("Event bus", busSelect), field("Rule", ruleSelect), field("Time range", range)),
    h("p", { class: "hint" }, "Counts per minute, from this server's metrics since it started."), charts);
  if (!name) {
    charts.append(h("p", {}, "No rules on this event bus."));
    return;
  }
  const [answer, targets] = await Promise.all([
    post("/console/deliveries", { Rule: name, EventBusName: bus, Minutes: Number(minutes) }),
    all("events", "ListTargetsByRule", { Rule: name, EventBusName: bus }, "Targets"),
  ]);
  if (!targets.length) charts.append(h("p", {}, "This rule has no targets."));
  for (const target of targets) {
    const points = (metric) => ((answer.Series.find((s) => s.Metric === metric && s.TargetId === target.Id) || {}).Points || []);
    charts.append(h("section", { "aria-label": `Target ${target.Id}`, class: "target-charts" },
      h("h2", {}, `Target ${target.Id}`),
      attributeList([["ARN", target.Arn], ["Dead-letter queue", (target.DeadLetterConfig || {}).Arn || "none"], ["Last delivery", lastOutcome(answer.Last[target.Id])]]),
      h("div", { class: "charts" }, CHARTS.map(([metric, title]) => chart(title, `target ${target.Id}`, points(metric), answer)))));
  }
}

// ---- routing -----------------------------------------------------------------------------------------------

const ROUTES = {
  "#/rules": rulesPage,
  "#/rules/create": (params) => createPage(new URLSearchParams({ bus: params.get("bus") || "default" })),
  "#/rules/edit": createPage,
  "#/sandbox": sandboxPage,
  "#/history": historyPage,
  "#/trails": trailsPage,
  "#/queues": queuesPage,
  "#/queues/view": queuePage,
  "#/topics": topicsPage,
  "#/topics/view": topicPage,
  "#/functions": functionsPage,
  "#/functions/view": functionPage,
  "#/machines": machinesPage,
  "#/machines/view": machinePage,
  "#/executions/view": executionPage,
  "#/deliveries": deliveriesPage,
};

async function route() {
  const [path, query] = (location.hash || "#/rules").split("?");
  const view = ROUTES[path] || rulesPage;
  try {
    await view(new URLSearchParams(query || ""));
  } catch (error) {
    page("Something went wrong", h("p", { class: "error", role: "alert" }, `${error.code || "Error"}: ${error.message}`));
  }
  document.getElementById("main").focus();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
