//! The shipped KumoMTA policy file (`integrations/kumomta/rebound.lua`) run in a real Lua 5.4
//! against the real server. KumoMTA itself cannot run here, so the modules the file requires are
//! stand-ins that hold to KumoMTA's documented contracts (`kumo.on` takes one handler per event;
//! `kumo.reject` raises a rejection; `kumo.http` clients with `get`/`post`, `header`,
//! `bearer_auth`, `body`, `send` and responses with `status_code`, `status_reason`,
//! `status_is_success`, `text`, raising an error when the server cannot be reached;
//! `kumo.serde`; `kumo.memoize` requiring a name, ttl and capacity, and caching no error;
//! `policy-extras.log_hooks:new` with a constructor whose sender gets `send_batch(messages)` when
//! `batch_size` is above 1 and `send(message)` otherwise, each message's `get_meta 'log_record'`
//! the record, a returned string counting as delivered and a rejection as "retry").
//! Any other call the file made would fail here as it would in KumoMTA.

use std::path::PathBuf;
use std::time::Duration;

use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value as LuaValue};
use serde_json::{Value, json};

use crate::support::{Api, Backend, TestServer, on_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_kumomta_policy_works_in_lua() {
    on_server(Backend::Sqlite, the_policy_feeds_and_checks).await;
}

/// What kumod makes of a call into the policy: returned, rejected with a code, or failed.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done(String),
    Rejected(u16),
    Failed(String),
}

/// The stand-in modules, in Lua over three primitives from the test (`__http`, `__json_encode`,
/// `__json_parse`).
const STAND_IN: &str = r#"
local kumo = { handlers = {} }
function kumo.on(event, handler)
  assert(type(event) == 'string' and type(handler) == 'function', 'kumo.on(name, function)')
  if kumo.handlers[event] then
    error('kumo.on: ' .. event .. ' has a handler already: KumoMTA takes one per event')
  end
  kumo.handlers[event] = handler
end
function kumo.reject(code, text)
  assert(math.type(code) == 'integer' and code >= 400 and code < 600, 'kumo.reject: a 4xx or 5xx code')
  assert(type(text) == 'string', 'kumo.reject: a text')
  error({ rejected = true, code = code, text = text }, 0)
end
kumo.serde = { json_encode = __json_encode, json_parse = __json_parse }
function kumo.memoize(f, options)
  assert(type(f) == 'function', 'kumo.memoize: a function')
  assert(type(options) == 'table' and type(options.name) == 'string' and options.ttl and options.capacity,
    'kumo.memoize: name, ttl and capacity')
  local cache = {}
  return function(key)
    if cache[key] ~= nil then return cache[key] end
    local value = f(key)
    cache[key] = value
    return value
  end
end
kumo.http = {}
function kumo.http.build_client(options)
  assert(options == nil or type(options) == 'table', 'build_client{...}')
  local client = { closed = false, timeout = options and options.timeout }
  local function request(method, url)
    assert(not client.closed, 'the client was closed')
    local r = { headers = {} }
    function r:header(name, value) self.headers[name] = value; return self end
    function r:bearer_auth(token) self.headers['Authorization'] = 'Bearer ' .. token; return self end
    function r:body(text) assert(type(text) == 'string', 'body: a string'); self.text = text; return self end
    function r:send()
      local status, reason, text = __http(method, url, self.headers, self.text, client.timeout)
      local response = {}
      function response:status_code() return status end
      function response:status_reason() return reason end
      function response:status_is_success() return status >= 200 and status < 300 end
      function response:text() return text end
      return response
    end
    return r
  end
  function client:get(url) return request('GET', url) end
  function client:post(url) return request('POST', url) end
  function client:put(url) return request('PUT', url) end
  function client:close() self.closed = true end
  return client
end

local log_hooks = { hooks = {} }
function log_hooks:new(params)
  assert(type(params.name) == 'string' and type(params.constructor) == 'function', 'log_hooks:new{name, constructor}')
  self.hooks[params.name] = params
end

package.loaded['kumo'] = kumo
package.loaded['policy-extras.log_hooks'] = log_hooks

-- A call as kumod makes it: returned, rejected (with its code), or failed.
function __call(f, ...)
  local ok, result = pcall(f, ...)
  if ok then return 'done', tostring(result) end
  if type(result) == 'table' and result.rejected then return 'rejected', result.code end
  return 'failed', tostring(result)
end

-- What kumod does with the messages of a hook's queue: a sender made for the queue, given a batch
-- when batch_size is above 1, else one message at a time.
function __deliver(name, records)
  local params = assert(log_hooks.hooks[name], 'no log hook named ' .. name)
  local sender = params.constructor(name .. '.log_hook', nil, nil)
  local message = { __index = { get_meta = function(self, key) return self.meta[key] end } }
  local messages = {}
  for i, record in ipairs(records) do
    messages[i] = setmetatable({ meta = { log_record = record } }, message)
  end
  local outcomes = {}
  if (params.batch_size or 1) > 1 then
    assert(#messages <= params.batch_size, 'a batch larger than batch_size')
    assert(type(sender.send_batch) == 'function', 'batch_size > 1 needs send_batch')
    table.insert(outcomes, { __call(sender.send_batch, sender, messages) })
  else
    assert(type(sender.send) == 'function', 'batch_size 1 needs send')
    for _, message in ipairs(messages) do
      table.insert(outcomes, { __call(sender.send, sender, message) })
    end
  end
  if sender.close then sender:close() end
  return outcomes
end

-- KumoMTA's EnvelopeAddress, as far as a policy reads it.
function __address(email)
  local user, domain = email:match('^(.*)@([^@]*)$')
  return setmetatable({ email = email, user = user, domain = domain }, { __tostring = function(a) return a.email end })
end
"#;

/// A Lua state with the stand-ins, the shipped file on its path, and the server's HTTP reached
/// through a blocking client.
fn policy_state() -> Lua {
    let lua = Lua::new();
    let client = reqwest::blocking::Client::new();
    let http = lua
        .create_function(
            move |_, (method, url, headers, body, timeout): (String, String, Table, Option<String>, Option<String>)| {
                let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(mlua::Error::external)?;
                let mut request = client.request(method, &url);
                for pair in headers.pairs::<String, String>() {
                    let (name, value) = pair?;
                    request = request.header(name, value);
                }
                if let Some(body) = body {
                    request = request.body(body);
                }
                let seconds = timeout.and_then(|t| t.trim_end_matches('s').parse::<u64>().ok()).unwrap_or(60);
                let response = request.timeout(Duration::from_secs(seconds)).send().map_err(mlua::Error::external)?;
                let status = response.status();
                let reason = status.canonical_reason().unwrap_or("").to_owned();
                Ok((status.as_u16(), reason, response.text().map_err(mlua::Error::external)?))
            },
        )
        .unwrap();
    let encode = lua
        .create_function(|lua, value: LuaValue| {
            let json: Value = lua.from_value(value)?;
            serde_json::to_string(&json).map_err(mlua::Error::external)
        })
        .unwrap();
    let parse = lua
        .create_function(|lua, text: String| {
            let json: Value = serde_json::from_str(&text).map_err(mlua::Error::external)?;
            lua.to_value(&json)
        })
        .unwrap();
    let globals = lua.globals();
    globals.set("__http", http).unwrap();
    globals.set("__json_encode", encode).unwrap();
    globals.set("__json_parse", parse).unwrap();
    lua.load(STAND_IN).set_name("kumo stand-in").exec().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../integrations/kumomta/?.lua");
    let package: Table = globals.get("package").unwrap();
    package.set("path", dir.display().to_string()).unwrap();
    lua
}

/// Loads the policy file and calls its setup with `options` (a Lua table constructor).
fn set_up(lua: &Lua, options: &str) -> Outcome {
    let setup = lua.load(format!("return function() require('rebound').setup {options} end")).eval().unwrap();
    call(lua, setup, MultiValue::new())
}

fn call(lua: &Lua, f: Function, args: MultiValue) -> Outcome {
    let run: Function = lua.globals().get("__call").unwrap();
    let mut all = MultiValue::new();
    all.push_back(LuaValue::Function(f));
    all.extend(args);
    let (what, detail): (String, LuaValue) = run.call(all).unwrap();
    match what.as_str() {
        "done" => Outcome::Done(detail.to_string().unwrap_or_default()),
        "rejected" => Outcome::Rejected(u16::try_from(detail.as_i64().unwrap()).unwrap()),
        _ => Outcome::Failed(detail.to_string().unwrap_or_default()),
    }
}

/// The hook's queue delivered as kumod would: an outcome per call of the sender.
fn deliver(lua: &Lua, records: &[Value]) -> Vec<Outcome> {
    let deliver: Function = lua.globals().get("__deliver").unwrap();
    let outcomes: Vec<Table> = deliver.call(("rebound", lua.to_value(&records).unwrap())).unwrap();
    outcomes
        .into_iter()
        .map(|t| {
            let (what, detail): (String, LuaValue) = (t.get(1).unwrap(), t.get(2).unwrap());
            match what.as_str() {
                "done" => Outcome::Done(detail.to_string().unwrap_or_default()),
                "rejected" => Outcome::Rejected(u16::try_from(detail.as_i64().unwrap()).unwrap()),
                _ => Outcome::Failed(detail.to_string().unwrap_or_default()),
            }
        })
        .collect()
}

/// The RCPT TO handler the policy registered, called for `email`.
fn rcpt_to(lua: &Lua, email: &str) -> Outcome {
    let handlers: Table = lua.load("return package.loaded.kumo.handlers").eval().unwrap();
    let handler: Function = handlers.get("smtp_server_rcpt_to").expect("a handler is registered");
    let address: LuaValue = lua.load(format!("return __address({email:?})")).eval().unwrap();
    call(lua, handler, MultiValue::from_iter([address, LuaValue::Nil]))
}

fn record(kind: &str, id: &str, sender: &str, recipient: &str, response: Value) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    json!({
        "type": kind, "id": id, "sender": sender, "recipient": recipient, "queue": "autumn:acme@example.com",
        "site": "", "size": 2048, "response": response, "timestamp": now, "created": now, "num_attempts": 1,
        "peer_address": { "name": "mx.example.com.", "addr": "192.0.2.25" }, "feedback_report": null,
        "meta": {}, "headers": {}, "reception_protocol": "ESMTP", "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173"
    })
}

/// Runs `f` on a blocking thread (the stand-in's HTTP client blocks).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

async fn the_policy_feeds_and_checks(server: &TestServer) {
    let token = server.api_key("kumomta", &["events:write", "check"]).await;
    let url = server.url("");
    let options = move |extra: &str| format!("{{ url = {url:?}, token = {token:?}{extra} }}");
    let admin = Api::admin(server).await;

    // Batches of records through the hook: a reception is an attempt, a report coming back (null
    // sender) is none, a user-unknown bounce suppresses its recipient.
    let bounce = json!({ "code": 550, "enhanced_code": { "class": 5, "subject": 1, "detail": 1 },
        "content": "5.1.1 The email account that you tried to reach does not exist", "command": "RCPT TO:<gone@example.com>" });
    let records = vec![
        record("Reception", "m1", "bounces@sender.example", "gone@example.com", Value::Null),
        record("Reception", "r1", "", "fbl@bounce.sender.example", Value::Null),
        record("Bounce", "m1", "bounces@sender.example", "gone@example.com", bounce.clone()),
    ];
    let opts = options.clone();
    let (set, delivered) = blocking(move || {
        let lua = policy_state();
        let set = set_up(&lua, &opts(", batch_size = 3"));
        (set, deliver(&lua, &records))
    })
    .await;
    assert_eq!(set, Outcome::Done("nil".into()), "setup runs");
    assert!(matches!(&delivered[..], [Outcome::Done(_)]), "one batch, acknowledged: {delivered:?}");
    assert!(admin.suppressed("gone@example.com", None).await);
    let (_, campaigns) = admin.get("/api/v1/metrics/breakdown?by=campaign").await;
    assert_eq!(campaigns["rows"][0]["counts"]["sent"], 1, "the report coming back is no attempt: {campaigns}");

    // With a batch size of 1, KumoMTA calls send(message) for each record.
    let opts = options.clone();
    let one = vec![record("Bounce", "m2", "bounces@sender.example", "alone@example.com", bounce)];
    let delivered = blocking(move || {
        let lua = policy_state();
        set_up(&lua, &opts(", batch_size = 1"));
        deliver(&lua, &one)
    })
    .await;
    assert!(matches!(&delivered[..], [Outcome::Done(_)]), "{delivered:?}");
    assert!(admin.suppressed("alone@example.com", None).await);

    // A batch Rebound refuses is retried by KumoMTA: the sender rejects it with a 4xx.
    let opts = options.clone();
    let refused = blocking(move || {
        let lua = lua_with_token(&opts(", batch_size = 2"));
        deliver(&lua, &[record("Reception", "m3", "a@sender.example", "x@example.com", Value::Null)])
    })
    .await;
    assert_eq!(refused, [Outcome::Rejected(451)], "a wrong token: the batch is kept for a retry");

    // At RCPT TO: a suppressed address is refused, another accepted, an address Rebound cannot
    // read is accepted even when failing closed (it cannot be on the list).
    let opts = options.clone();
    let answers = blocking(move || {
        let lua = policy_state();
        set_up(&lua, &opts(", fail_closed = true"));
        ["gone@example.com", "fine@example.com", "not an address@@example.com"].map(|email| rcpt_to(&lua, email))
    })
    .await;
    assert_eq!(answers[0], Outcome::Rejected(550));
    assert_eq!(answers[1], Outcome::Done("nil".into()));
    assert_eq!(answers[2], Outcome::Done("nil".into()), "an unreadable address is not deferred for ever");

    // A policy with a handler of its own: setting up twice with the default fails (one handler
    // per event); with rcpt_to = false it calls rebound.check_recipient from its handler.
    let opts = options.clone();
    let (twice, own) = blocking(move || {
        let lua = policy_state();
        set_up(&lua, &opts(""));
        let twice = set_up(&lua, &opts(""));
        let lua = policy_state();
        set_up(&lua, &opts(", rcpt_to = false"));
        lua.load(
            "package.loaded.kumo.on('smtp_server_rcpt_to', function(recipient, conn_meta) \
             require('rebound').check_recipient(recipient) end)",
        )
        .exec()
        .unwrap();
        (twice, rcpt_to(&lua, "gone@example.com"))
    })
    .await;
    assert!(matches!(&twice, Outcome::Failed(why) if why.contains("one per event")), "{twice:?}");
    assert_eq!(own, Outcome::Rejected(550));

    // Rebound unreachable: accepted when failing open, deferred when failing closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let answers = blocking(move || {
        ["", ", fail_closed = true"].map(|extra| {
            let lua = policy_state();
            set_up(&lua, &format!("{{ url = {nowhere:?}, token = 'x'{extra} }}"));
            rcpt_to(&lua, "someone@example.com")
        })
    })
    .await;
    assert_eq!(answers, [Outcome::Done("nil".into()), Outcome::Rejected(451)]);
}

/// A policy set up with `options` whose token Rebound does not know.
fn lua_with_token(options: &str) -> Lua {
    let lua = policy_state();
    let wrong = options.replace("token = \"", "token = \"wrong-");
    set_up(&lua, &wrong);
    lua
}
