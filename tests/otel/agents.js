// Two agents instrumented with the real OpenTelemetry JS SDK, exporting over
// OTLP/HTTP to agentwatch (or to capture.js, to record fixtures):
//   - "seed": a root agent.run span with agent.type, incident.id and summary
//     totals, over gen_ai.chat and gen_ai.tool.* children;
//   - "genai": a GenAI semantic-conventions invoke_agent span with chat and
//     execute_tool children and no totals, under a server span.
// A BatchSpanProcessor with a small batch size sends each trace in several
// requests, children first. Then one verdict as a gen_ai.evaluation.result
// event per investigation through the logs exporter.
//
//   node agents.js BASE_URL [json|proto] [count]     e.g. http://127.0.0.1:9464
// Prints one line per investigation: agent, traceId, spanId.
'use strict';
const { trace, context } = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');

const base = process.argv[2] || 'http://127.0.0.1:9464';
const encoding = process.argv[3] || 'json';
const count = Number(process.argv[4] || 1);
const headers = process.env.AW_TOKEN ? { Authorization: `Bearer ${process.env.AW_TOKEN}` } : {};

const TraceExporter = encoding === 'proto'
  ? require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter
  : require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter;

// Fixed times keep the recorded fixtures stable (ids are random).
const T0 = Number(process.env.AW_T0_MS || 1764000000000);

function provider(serviceName, extra) {
  const resource = resourceFromAttributes({ 'service.name': serviceName, ...extra });
  const exporter = new TraceExporter({ url: `${base}/v1/traces`, headers });
  return new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter, {
      maxExportBatchSize: 4, scheduledDelayMillis: 50, maxQueueSize: 10000,
    })],
  });
}

function child(tracer, parentSpan, name, attributes, start, end) {
  const ctx = trace.setSpan(context.active(), parentSpan);
  const s = tracer.startSpan(name, { attributes, startTime: start }, ctx);
  s.end(end);
  return s;
}

function seedAgent(tracer, i, t) {
  const root = tracer.startSpan('agent.run', {
    startTime: t,
    attributes: {
      'agent.type': 'incident-response',
      'incident.id': `INC-${4400 + i}`,
      'agent.total_input_tokens': 18234,
      'agent.total_output_tokens': 2311,
      'agent.tool_calls_made': 3,
      'agent.estimated_cost_usd': 0.093,
      'agent.confidence': 0.82,
      'gen_ai.request.model': 'claude-sonnet-4-6',
      'deployment.environment.name': 'prod',
    },
  });
  child(tracer, root, 'gen_ai.chat', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6',
    'gen_ai.response.model': 'claude-sonnet-4-6-20261001', 'gen_ai.system': 'anthropic',
    'gen_ai.usage.input_tokens': 9000, 'gen_ai.usage.output_tokens': 1000,
    'gen_ai.response.finish_reasons': ['tool_use'],
  }, t + 100, t + 900);
  for (let k = 0; k < 3; k++) {
    child(tracer, root, 'gen_ai.tool.kubectl', { 'gen_ai.tool.name': 'kubectl' },
      t + 1000 + k * 100, t + 1050 + k * 100);
  }
  child(tracer, root, 'gen_ai.chat', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6',
    'gen_ai.usage.input_tokens': 9234, 'gen_ai.usage.output_tokens': 1311,
    'gen_ai.response.finish_reasons': ['end_turn'],
  }, t + 1400, t + 2000);
  root.end(t + 41200);
  return root;
}

function genaiAgent(tracer, i, t) {
  const server = tracer.startSpan('POST /investigate', { startTime: t, kind: 1 });
  const ctx = trace.setSpan(context.active(), server);
  const agent = tracer.startSpan('invoke_agent triage', {
    startTime: t + 10,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage',
      'gen_ai.provider.name': 'anthropic', 'gen_ai.agent.version': '1.4.0',
    },
  }, ctx);
  const chat = (k, input, output, reason) => child(tracer, agent, 'chat claude-sonnet-4-6', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6',
    'gen_ai.response.model': 'claude-sonnet-4-6-20261001', 'gen_ai.provider.name': 'anthropic',
    'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output,
    'gen_ai.usage.cache_read.input_tokens': 100 * k,
    'gen_ai.response.finish_reasons': [reason],
  }, t + 20 + k * 1000, t + 800 + k * 1000);
  chat(0, 1200, 300, 'tool_use');
  const tool = child(tracer, agent, 'execute_tool get_logs', {
    'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_logs',
  }, t + 900, t + 950);
  // A model call made inside a tool: a grandchild of the agent span.
  child(tracer, tool, 'chat summarize', {
    'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-haiku-4-5',
    'gen_ai.usage.input_tokens': 400, 'gen_ai.usage.output_tokens': 50,
  }, t + 910, t + 940);
  child(tracer, agent, 'execute_tool restart_pod', {
    'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'restart_pod',
  }, t + 960, t + 990);
  chat(1, 2000, 500, 'end_turn');
  agent.end(t + 5000);
  server.end(t + 5100);
  return agent;
}

async function main() {
  const seed = provider('seed-service', {});
  const genai = provider('triage-service', { 'deployment.environment.name': 'staging' });
  const made = [];
  for (let i = 0; i < count; i++) {
    const t = T0 + i * 60000;
    made.push(['incident-response', seedAgent(seed.getTracer('seed-agent'), i, t)]);
    made.push(['triage', genaiAgent(genai.getTracer('genai-agent'), i, t)]);
  }
  await seed.forceFlush();
  await genai.forceFlush();

  const logs = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'oncall-review' }),
    processors: [new BatchLogRecordProcessor({
      exporter: new OTLPLogExporter({ url: `${base}/v1/logs`, headers }),
    })],
  });
  const logger = logs.getLogger('oncall');
  made.forEach(([name, span], k) => {
    logger.emit({
      eventName: 'gen_ai.evaluation.result',
      timestamp: T0 + 3600000 + k,
      context: trace.setSpan(context.active(), span),
      attributes: {
        'gen_ai.evaluation.name': 'oncall_verdict',
        'gen_ai.evaluation.score.label': k % 2 === 0 ? 'confirmed' : 'overridden',
        'gen_ai.evaluation.explanation': 'reviewed by the on-call engineer',
      },
    });
    // Not a verdict: another evaluation, ignored by agentwatch.
    logger.emit({
      eventName: 'gen_ai.evaluation.result',
      context: trace.setSpan(context.active(), span),
      attributes: { 'gen_ai.evaluation.name': 'relevance', 'gen_ai.evaluation.score.value': 0.9 },
    });
  });
  await logs.forceFlush();
  for (const [name, span] of made) {
    const c = span.spanContext();
    console.log(`${name} ${c.traceId} ${c.spanId}`);
  }
  await seed.shutdown();
  await genai.shutdown();
  await logs.shutdown();
}

main().catch((e) => { console.error(e); process.exit(1); });
