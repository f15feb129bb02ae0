// A minimal agent instrumented with the OpenTelemetry JS SDK, exporting its
// traces straight to agentwatch over OTLP/HTTP (protobuf). One investigation
// per run: an invoke_agent span (GenAI semantic conventions) with two model
// calls and one tool call under it. agentwatch derives the investigation's
// tokens, tool calls, model and finish reason from those children.
//
//   AGENTWATCH_URL=http://127.0.0.1:9464 AW_TOKEN=... node agent.js [agent-name]
//
// Prints the investigation id agentwatch gives it (the trace id: the agent
// span is the trace's root), so `GET /api/v1/investigations/<id>` finds it.
'use strict';
const { trace, context } = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

const base = process.env.AGENTWATCH_URL || 'http://127.0.0.1:9464';
const agentName = process.argv[2] || 'example-agent';
const headers = process.env.AW_TOKEN ? { Authorization: `Bearer ${process.env.AW_TOKEN}` } : {};

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({
    'service.name': agentName,
    'deployment.environment.name': process.env.AW_ENV || 'dev',
  }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers }))],
});
const tracer = provider.getTracer('example-agent');

// Each step gets its own start and end, 10 ms apart: the finish reason is
// the last model call's by end time, and two calls ending in the same
// millisecond would leave that to chance.
const t0 = Date.now();
let steps = 0;
function step(parent, name, attributes) {
  const start = t0 + 10 * ++steps;
  const span = tracer.startSpan(name, { attributes, startTime: start },
    trace.setSpan(context.active(), parent));
  span.end(start + 5);
}

async function main() {
  const agent = tracer.startSpan(`invoke_agent ${agentName}`, {
    startTime: t0,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': agentName,
      'gen_ai.provider.name': 'anthropic',
      'incident.id': process.env.AW_INCIDENT || 'INC-1',
    },
  });
  step(agent, 'chat claude-sonnet-4-6', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6',
    'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300,
    'gen_ai.response.finish_reasons': ['tool_use'],
  });
  step(agent, 'execute_tool get_logs', {
    'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_logs',
  });
  step(agent, 'chat claude-sonnet-4-6', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6',
    'gen_ai.usage.input_tokens': 2000, 'gen_ai.usage.output_tokens': 500,
    'gen_ai.response.finish_reasons': ['end_turn'],
  });
  agent.end(t0 + 10 * (steps + 1));
  await provider.forceFlush();  // rejects if agentwatch did not take it
  console.log(agent.spanContext().traceId);
  await provider.shutdown();
}

main().catch((e) => { console.error(e); process.exit(1); });
