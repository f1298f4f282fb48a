// The Node.js worker of trailbridge's functions/runtime.py: `node bootstrap_node.cjs FD SENTINEL`.
// Same protocol as bootstrap_python.py: frames on the socket FD (4-byte header length, 4-byte body length,
// JSON header, raw body); console output goes to stdout as Lambda's Node runtime formats it; after each
// init or invocation SENTINEL plus a newline on stdout marks the end of that step's log.
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const fd = Number(process.argv[2]);
const sentinel = process.argv[3] + "\n";
const env = process.env;
let requestId = "";

function logLine(level, args) {
  const message = util.format(...args).replace(/\n/g, "\r");
  fs.writeSync(1, `${new Date().toISOString()}\t${requestId || "undefined"}\t${level}\t${message}\n`);
}

for (const [name, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"], ["debug", "DEBUG"], ["trace", "TRACE"]]) {
  console[name] = (...args) => logLine(level, args);
}

const socket = new net.Socket({ fd, readable: true, writable: true });

function send(header, body) {
  const head = Buffer.from(JSON.stringify(header));
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32BE(head.length, 0);
  sizes.writeUInt32BE(body ? body.length : 0, 4);
  socket.write(body ? Buffer.concat([sizes, head, body]) : Buffer.concat([sizes, head]));
}

function endStep() {
  fs.writeSync(1, sentinel);
}

function errorPayload(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: String(error.stack || "").split("\n") };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function loadError(errorType, message, stack) {
  const error = { errorType, errorMessage: message, trace: stack ? String(stack).split("\n") : [] };
  logLine("ERROR", [`Uncaught Exception \t${JSON.stringify({ ...error, stack: error.trace, trace: undefined })}`]);
  return error;
}

async function loadHandler(spec) {
  const slash = spec.lastIndexOf("/");
  const dot = spec.indexOf(".", slash + 1);
  if (dot < 0) throw loadError("Runtime.MalformedHandlerName", "Bad handler");
  const moduleName = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split(".");
  const base = path.resolve(process.cwd(), moduleName);
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((candidate) => fs.existsSync(candidate));
  if (!file) throw loadError("Runtime.ImportModuleError", `Error: Cannot find module '${moduleName}'`);
  let module;
  try {
    module = file.endsWith(".mjs") ? await import(pathToFileURL(file).href) : require(file);
  } catch (error) {
    if (error && error.code === "ERR_REQUIRE_ESM") {
      module = await import(pathToFileURL(file).href);
    } else {
      throw loadError("Runtime.UserCodeSyntaxError", String(error), error && error.stack);
    }
  }
  let handler = module;
  for (const part of exportPath) handler = handler == null ? undefined : handler[part];
  if (handler === undefined && module && module.default) handler = module.default[exportPath[0]];
  if (typeof handler !== "function") {
    throw loadError("Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
  }
  return handler;
}

function context(header) {
  const deadline = Date.now() + header.remaining_ms;
  return {
    awsRequestId: header.id,
    invokedFunctionArn: header.arn,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    clientContext: undefined,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// Lambda answers a callback-style handler once the event loop is empty (its timers, sockets and callbacks
// done), unless the handler set context.callbackWaitsForEmptyEventLoop = false. Our socket to the runtime would
// keep the loop alive, so it is unreferenced meanwhile: "beforeExit" then fires when only it is left.
function whenLoopEmpty(finish) {
  socket.unref();
  process.once("beforeExit", () => {
    socket.ref();
    finish();
  });
}

function run(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      const finish = () => (error !== undefined && error !== null ? reject(error) : resolve(result));
      if (handler.length >= 3 && ctx.callbackWaitsForEmptyEventLoop) whenLoopEmpty(finish);
      else finish();
    };
    const returned = handler.length >= 3 ? handler(event, ctx, callback) : handler(event, ctx);
    if (returned && typeof returned.then === "function") {
      returned.then((result) => callback(null, result), (error) => callback(error === undefined ? new Error("undefined") : error));
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

function reply(header, body) {
  endStep();
  send({ ...header, rss_kb: process.resourceUsage().maxRSS }, body);
}

async function invoke(handler, header, body) {
  requestId = header.id;
  let event;
  try {
    event = body.length ? JSON.parse(body.toString("utf8")) : {};
  } catch (error) {
    return reply({ error: true }, Buffer.from(JSON.stringify({ errorType: "Runtime.UnmarshalError", errorMessage: String(error) })));
  }
  try {
    const result = await run(handler, event, context(header));
    const text = JSON.stringify(result);
    reply({}, Buffer.from(text === undefined ? "null" : text));
  } catch (error) {
    const payload = errorPayload(error);
    logLine("ERROR", [`Invoke Error \t${JSON.stringify({ errorType: payload.errorType, errorMessage: payload.errorMessage, stack: payload.trace })}`]);
    reply({ error: true }, Buffer.from(JSON.stringify(payload)));
  }
}

async function main() {
  let handler;
  try {
    handler = await loadHandler(env._HANDLER);
  } catch (error) {
    const payload = error && error.errorType ? error : errorPayload(error);
    endStep();
    send({ init_error: true }, Buffer.from(JSON.stringify(payload)));
    socket.end(() => process.exit(0));
    return;
  }
  endStep();
  send({ ready: true });
  let buffer = Buffer.alloc(0);
  let queue = Promise.resolve();
  socket.on("data", (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length >= 8) {
      const headSize = buffer.readUInt32BE(0);
      const bodySize = buffer.readUInt32BE(4);
      if (buffer.length < 8 + headSize + bodySize) break;
      const header = JSON.parse(buffer.subarray(8, 8 + headSize).toString("utf8"));
      const body = buffer.subarray(8 + headSize, 8 + headSize + bodySize);
      buffer = buffer.subarray(8 + headSize + bodySize);
      queue = queue.then(() => invoke(handler, header, Buffer.from(body)));
    }
  });
  socket.on("end", () => process.exit(0));
}

main();
