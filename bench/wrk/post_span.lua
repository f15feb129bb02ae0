-- wrk script: POST one span summary per request to /v1/spans, each with a
-- fresh investigation_id (so agentwatch stores every one; a repeated id
-- would be a cheap duplicate). The same script drives nginx for the ceiling.
--   wrk -t2 -c64 -d10s -s bench/wrk/post_span.lua http://127.0.0.1:PORT -- RUN_ID

local agents = {"incident-response", "cost-bot", "release-validator", "oncall-triage",
                "db-doctor", "k8s-fixer", "capacity-planner", "log-summarizer"}
local threads = 0
local counter = 0
local prefix = "wrk"
local headers = {["Content-Type"] = "application/json"}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = "wrk-" .. (args[1] or tostring(os.time())) .. "-" .. tostring(tid) .. "-"
end

function request()
  counter = counter + 1
  local c = counter
  local tools = 3 + c % 17
  local body = string.format(
    '{"investigation_id":"%s%d","agent":"%s","ts":%d,"model":"claude-sonnet-4-6",' ..
    '"provider":"anthropic","input_tokens":%d,"output_tokens":%d,"cache_read_tokens":%d,' ..
    '"llm_calls":%d,"tool_calls":%d,"estimated_cost_usd":%.5f,"duration_ms":%d,' ..
    '"finish_reason":"end_turn","confidence":%.3f,"labels":{"team":"sre","env":"prod"}}',
    prefix, c, agents[c % #agents + 1], os.time() - 60, 2500 * tools, 250 * tools,
    1200 * tools, tools + 1, tools, 0.011 * tools, 4000 * tools, (c % 1000) / 1000)
  return wrk.format("POST", "/v1/spans", headers, body)
end
