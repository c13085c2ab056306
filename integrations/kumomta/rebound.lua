--[[
Rebound for KumoMTA: ships log records to Rebound and refuses suppressed recipients at reception.

Load it from your policy (init.lua) before the queue helper:

    local rebound = require 'rebound'
    rebound.setup {
      url = 'http://127.0.0.1:8025',          -- where Rebound listens
      token = os.getenv 'REBOUND_TOKEN',       -- an API key with the `events:write` and `check` scopes
    }

Log records go to POST /api/v1/integrations/kumomta in batches through a log hook, so they get
KumoMTA's own queueing and retries: a batch Rebound does not acknowledge with a 2xx is retried
(Rebound records each event once however often it arrives). Reception records are the attempts
Rebound divides by; deliveries, bounces, deferrals, expirations, out-of-band bounces and feedback
reports become events.

At RCPT TO, each recipient is checked with GET /api/v1/check (answers cached for `check_ttl`):
a suppressed recipient is refused with `550 5.1.1`. If Rebound cannot be reached the recipient is
accepted (fail open) unless `fail_closed = true`, in which case it is deferred with `451 4.4.3`.
An address Rebound refuses to read (a 400) cannot be on its list and is accepted either way, so it
is never deferred for ever. A paused scope is not refused here: Rebound mirrors pauses as KumoMTA
suspensions (run `rebound serve --kumo-url ...`), which hold the queued mail until staff resume.

KumoMTA takes one handler per event. A policy that has its own `smtp_server_rcpt_to` handler
passes `rcpt_to = false` and calls `rebound.check_recipient(recipient)` from it.

Written against KumoMTA's documented Lua API (policy-extras.log_hooks, kumo.http, kumo.memoize,
kumo.serde, KumoMTA 2025.01.23 or later). Rebound's tests run this file in Lua 5.4 against the real
Rebound server, with a stand-in `kumo` module that holds to those documented contracts.
]]

local kumo = require 'kumo'
local log_hooks = require 'policy-extras.log_hooks'

local M = {}

local function urlencode(text)
  return (text:gsub('[^%w%-%._~@]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end

function M.setup(params)
  local url = assert(params.url, 'rebound.setup: url is required')
  local token = assert(params.token, 'rebound.setup: token is required (REBOUND_TOKEN)')
  local fail_closed = params.fail_closed or false
  local batch_size = params.batch_size or 100

  log_hooks:new {
    name = 'rebound',
    batch_size = batch_size,
    min_batch_size = 1,
    max_batch_latency = params.max_batch_latency or '5s',
    constructor = function(domain, tenant, campaign)
      local client = kumo.http.build_client {}
      local sender = {}
      function sender:send_batch(messages)
        local records = {}
        for _, msg in ipairs(messages) do
          table.insert(records, msg:get_meta 'log_record')
        end
        local response = client
          :post(url .. '/api/v1/integrations/kumomta')
          :header('Content-Type', 'application/json')
          :bearer_auth(token)
          :body(kumo.serde.json_encode(records))
          :send()
        if response:status_is_success() then
          return response:status_reason()
        end
        -- A 4xx rejection makes KumoMTA retry the batch later.
        kumo.reject(451, string.format('rebound answered %d: %s', response:status_code(), response:text()))
      end
      -- With a batch size of 1, KumoMTA sends each record on its own.
      function sender:send(message)
        return self:send_batch { message }
      end
      function sender:close()
        client:close()
      end
      return sender
    end,
  }

  local check_client = kumo.http.build_client { timeout = params.check_timeout or '2s' }
  local function suppressed(email)
    local response = check_client
      :get(url .. '/api/v1/check?email=' .. urlencode(email))
      :bearer_auth(token)
      :send()
    if response:status_code() == 400 then
      -- An address Rebound cannot read cannot be on its list.
      return false
    end
    if not response:status_is_success() then
      error(string.format('rebound check answered %d', response:status_code()))
    end
    return kumo.serde.json_parse(response:text()).suppressed == true
  end
  local cached = kumo.memoize(suppressed, {
    name = 'rebound_check',
    ttl = params.check_ttl or '1 minute',
    capacity = params.check_capacity or 100000,
  })

  -- Refuses a suppressed recipient (550), and defers every recipient while Rebound cannot be asked
  -- when `fail_closed` (451); otherwise returns.
  function M.check_recipient(recipient)
    local ok, result = pcall(cached, recipient.email)
    if ok and result then
      kumo.reject(550, '5.1.1 recipient is on the suppression list')
    elseif not ok and fail_closed then
      kumo.reject(451, '4.4.3 suppression check unavailable, try again later')
    end
  end

  if params.rcpt_to ~= false then
    kumo.on('smtp_server_rcpt_to', function(recipient, conn_meta)
      M.check_recipient(recipient)
    end)
  end
end

return M
