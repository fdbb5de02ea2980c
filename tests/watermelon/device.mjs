// One WatermelonDB device for the tests in this folder: the real `synchronize()` of
// @nozbe/watermelondb over its LokiJS adapter, in memory, under Node.js (no React Native).
//
//   node device.mjs --server http://127.0.0.1:PORT --schema mobile_protocol/watermelon/schema-v1.json
//
// It reads one JSON command per line on stdin, `{"seq": n, "cmd": NAME, ...arguments}`, and
// answers each with one JSON line on stdout, `{"seq": n, "ok": true, ...}` or
// `{"seq": n, "ok": false, "error": MESSAGE, "status"?, "code"?, "details"?}`. Commands run
// one after another, except `resume`, which releases a sync paused before its push (the paused
// sync first writes `{"seq": n, "event": "paused_before_push"}`). Anything WatermelonDB logs
// goes to stderr, and the messages logged during a command come back in its answer as `logged`.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)
const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { schemaMigrations } = require('@nozbe/watermelondb/Schema/migrations')
const { synchronize, hasUnsyncedChanges } = require('@nozbe/watermelondb/sync')
const { fetchLocalChanges } = require('@nozbe/watermelondb/sync/impl')

const { values: options } = parseArgs({
  options: { server: { type: 'string' }, schema: { type: 'string' } },
})

// stdout carries the answers only: everything the library prints goes to stderr, and is kept
// so that a command can report what WatermelonDB complained about while it ran.
let logged = []
const describe = (item) => (item instanceof Error ? item.message : String(item))
for (const level of ['debug', 'log', 'info', 'warn', 'error']) {
  console[level] = (...items) => {
    const message = items.map(describe).join(' ')
    logged.push({ level, message })
    process.stderr.write(`[${level}] ${message}\n`)
  }
}

// The schema ------------------------------------------------------------------------------------

const schemaDocument = JSON.parse(readFileSync(options.schema, 'utf8'))
const tableNames = new Set(schemaDocument.tables.map((table) => table.name))

// `account_id` points at `accounts`, `order_id` at `orders`, ...: WatermelonDB needs the
// associations to find an order's lines when the order is deleted with its descendants.
function associationsOf(tables) {
  const found = Object.fromEntries(tables.map((table) => [table.name, {}]))
  for (const table of tables) {
    for (const column of table.columns) {
      const parent = column.name.endsWith('_id') ? `${column.name.slice(0, -3)}s` : null
      if (parent && parent !== table.name && tableNames.has(parent)) {
        found[table.name][parent] = { type: 'belongs_to', key: column.name }
        found[parent][table.name] = { type: 'has_many', foreignKey: column.name }
      }
    }
  }
  return found
}

function modelClass(name, associations) {
  return class extends Model {
    static table = name
    static associations = associations
  }
}

function openDatabase() {
  const associations = associationsOf(schemaDocument.tables)
  const adapter = new LokiJSAdapter({
    schema: appSchema({
      version: schemaDocument.version,
      tables: schemaDocument.tables.map((table) => tableSchema(table)),
    }),
    migrations: schemaMigrations({ migrations: [] }),
    useWebWorker: false,
    useIncrementalIndexedDB: false,
    dbName: 'device',
    onSetUpError: (error) => {
      throw error
    },
  })
  return new Database({
    adapter,
    modelClasses: [...tableNames].map((name) => modelClass(name, associations[name])),
  })
}

const database = openDatabase()

// The server ------------------------------------------------------------------------------------

class ServerError extends Error {
  constructor(status, error) {
    super(`${status} ${error.code}: ${error.message}`)
    this.status = status
    this.code = error.code
    this.details = error.details ?? null
  }
}

// The app's authorised fetch, as mobile_protocol/WATERMELON.md shows it: a bearer token, one
// refresh when the access token has expired, and the server's error as a thrown ServerError.
class Session {
  constructor(server) {
    this.server = server
    this.tokens = null
  }

  async fetch(path, init = {}, retried = false) {
    const response = await fetch(`${this.server}${path}`, {
      ...init,
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${this.tokens?.access_token}`,
      },
    })
    if (response.ok) return response
    const body = await response.json().catch(() => ({}))
    const error = body.error ?? { code: 'http_error', message: `HTTP ${response.status}` }
    if (error.code === 'token_expired' && !retried && this.tokens?.refresh_token) {
      await this.refresh()
      return this.fetch(path, init, true)
    }
    throw new ServerError(response.status, error)
  }

  async refresh() {
    const response = await fetch(`${this.server}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: this.tokens.refresh_token }),
    })
    const body = await response.json()
    if (!response.ok) throw new ServerError(response.status, body.error)
    this.tokens = body
  }
}

const session = new Session(options.server)

// Sync ------------------------------------------------------------------------------------------

// {table: {created: [ids], updated: [ids], deleted: [ids]}}, tables with nothing left out.
function idsOf(changes) {
  const found = {}
  for (const [table, change] of Object.entries(changes ?? {})) {
    const ids = {
      created: (change.created ?? []).map((record) => record.id),
      updated: (change.updated ?? []).map((record) => record.id),
      deleted: change.deleted ?? [],
    }
    if (ids.created.length || ids.updated.length || ids.deleted.length) found[table] = ids
  }
  return found
}

let releasePausedPush = null

function pauseBeforePush(seq) {
  reply({ seq, event: 'paused_before_push' })
  return new Promise((resolve) => {
    releasePausedPush = resolve
  })
}

// One synchronize() with the backend of WATERMELON.md. `losePushResponse`: the push reaches the
// server, and then the answer is lost (the JS side throws as a dropped connection would).
// `pauseBeforePush`: wait between pull and push until a `resume` command.
async function sync({ seq, lose_push_response = false, pause_before_push = false }) {
  const trace = { pulls: [], pushes: [] }
  const log = {}
  try {
    await synchronize({
      database,
      log,
      sendCreatedAsUpdated: true,
      migrationsEnabledAtVersion: 1,
      pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
        const query = new URLSearchParams({
          last_pulled_at: String(lastPulledAt ?? 'null'),
          schema_version: String(schemaVersion),
          migration: JSON.stringify(migration ?? null),
        })
        const response = await session.fetch(`/api/v1/watermelon/pull?${query}`)
        const { changes, timestamp } = await response.json()
        trace.pulls.push({ last_pulled_at: lastPulledAt ?? null, timestamp, changes: idsOf(changes) })
        return { changes, timestamp }
      },
      pushChanges: async ({ changes, lastPulledAt }) => {
        if (pause_before_push) await pauseBeforePush(seq)
        const push = { last_pulled_at: lastPulledAt, changes: idsOf(changes) }
        trace.pushes.push(push)
        try {
          const response = await session.fetch(
            `/api/v1/watermelon/push?last_pulled_at=${lastPulledAt}`,
            { method: 'POST', body: JSON.stringify({ changes }) },
          )
          push.status = response.status
          push.response = await response.json()
        } catch (error) {
          push.status = error.status ?? null
          throw error
        }
        if (lose_push_response) throw new Error('the push response was lost on the way back')
        return { experimentalRejectedIds: push.response.experimentalRejectedIds }
      },
    })
  } catch (error) {
    error.extra = { ...trace, phase: log.phase }
    throw error
  }
  return {
    ...trace,
    last_pulled_at: log.newLastPulledAt,
    rejected_ids: log.rejectedIds ?? {},
    resolved_conflicts: (log.resolvedConflicts ?? []).map((conflict) => conflict.local.id),
  }
}

// Local records ---------------------------------------------------------------------------------

function setFields(record, fields) {
  for (const [column, value] of Object.entries(fields)) record._setRaw(column, value)
}

const collection = (table) => database.get(table)

async function create({ table, fields = {} }) {
  const record = await database.write(() =>
    collection(table).create((created) => setFields(created, fields)),
  )
  return { id: record.id }
}

async function update({ table, id, fields }) {
  await database.write(async () => {
    const record = await collection(table).find(id)
    await record.update((updated) => setFields(updated, fields))
  })
  return {}
}

// markAsDeleted() is what sync pushes; `descendants` also marks e.g. an order's lines.
async function remove({ table, id, descendants = false }) {
  await database.write(async () => {
    const record = await collection(table).find(id)
    await (descendants ? record.experimentalMarkAsDeleted() : record.markAsDeleted())
  })
  return {}
}

const bookkeeping = ({ _status, _changed, ...columns }) => columns

async function query({ table, raw = false }) {
  const records = await collection(table).query().fetch()
  return { records: records.map((record) => (raw ? { ...record._raw } : bookkeeping(record._raw))) }
}

// What the next sync would push: {table: {created: [ids], updated: [ids], deleted: [ids]}}.
async function localChanges() {
  const { changes } = await fetchLocalChanges(database)
  return { unsynced: await hasUnsyncedChanges({ database }), changes: idsOf(changes) }
}

const commands = {
  sync,
  create,
  update,
  delete: remove,
  query,
  local_changes: localChanges,
  set_token: async ({ access_token, refresh_token = null }) => {
    session.tokens = { access_token, refresh_token }
    return {}
  },
}

// The command loop ------------------------------------------------------------------------------

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

async function run(command) {
  logged = []
  const handler = commands[command.cmd]
  try {
    if (!handler) throw new Error(`unknown command ${JSON.stringify(command.cmd)}`)
    const result = await handler(command)
    reply({ seq: command.seq, ok: true, ...result, logged })
  } catch (error) {
    reply({
      seq: command.seq,
      ok: false,
      error: error.message,
      status: error.status ?? null,
      code: error.code ?? null,
      details: error.details ?? null,
      ...error.extra,
      logged,
    })
  }
}

let queue = Promise.resolve()
const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  let command
  try {
    command = JSON.parse(line)
  } catch (error) {
    reply({ seq: null, ok: false, error: `not JSON: ${error.message}` })
    return
  }
  if (command.cmd === 'resume') {
    const release = releasePausedPush
    releasePausedPush = null
    reply({ seq: command.seq, ok: Boolean(release), error: release ? undefined : 'nothing paused' })
    release?.()
    return
  }
  queue = queue.then(() => run(command))
})
rl.on('close', () => queue.then(() => process.exit(0))) // LokiJS's autosave timer would stay
reply({ seq: 0, ok: true, event: 'ready', tables: [...tableNames] })
