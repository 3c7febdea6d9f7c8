"""supabase-js 2.x, unmodified (tests/js, pinned by its lockfile), against the
real server: the /auth/v1 and /rest/v1 calls an app makes, each answer
asserted (data, count, status, error codes).

Each test runs one ES module with ``tests.node.node_run``; ``PRELUDE`` gives it
``config`` (URL, API key, schema, member), ``connect(schema, apiKey)``
(``createClient(url, apiKey, {db: {schema}})``), ``signedIn()``,
``withToken(accessToken, schema)`` and ``answer()`` (the ``{status, count,
error, data}`` of a query). Sessions live in memory (``persistSession: false``:
Node.js has no localStorage), refreshes are explicit (``autoRefreshToken:
false``).

The served database lives for the whole session: every test names its rows
uniquely and filters on those names.
"""

import json
import uuid

import pytest

from tests.node import node_run

pytestmark = pytest.mark.slow

PASSWORD = "supabase js battery staple"

# supabase-js 2.119 builds its realtime client on the global WebSocket of
# Node.js 22; Debian's Node.js 20 has it behind this flag. Nothing here
# connects to realtime.
NODE_ENV = {"NODE_OPTIONS": "--experimental-websocket"}

PRELUDE = r"""
import { createClient, AuthApiError } from '@supabase/supabase-js'
const config = JSON.parse(process.env.GRID)
const params = JSON.parse(process.env.PARAMS)
const connect = (schema = config.schema, apiKey = config.api_key) =>
  createClient(config.url, apiKey, {
    db: { schema },
    auth: { persistSession: false, autoRefreshToken: false },
  })
const signedIn = async (schema = config.schema) => {
  const client = connect(schema)
  const { error } = await client.auth.signInWithPassword({
    email: config.email,
    password: config.password,
  })
  if (error) throw error
  return client
}
const withToken = (accessToken, schema = config.schema) =>
  createClient(config.url, config.api_key, {
    db: { schema },
    global: { headers: { Authorization: `Bearer ${accessToken}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  })
const answer = ({ status, count, error, data }) => ({ status, count, error, data })
const authError = (error) =>
  error && {
    name: error.name,
    code: error.code,
    status: error.status,
    message: error.message,
    isAuthApiError: error instanceof AuthApiError,
  }
"""


def js(grid: dict, body: str, **params):
    """Run ``body`` (the statements of an async function) and return what it
    returns, through JSON."""
    script = (
        PRELUDE
        + "const result = await (async () => {\n"
        + body
        + "\n})()\nconsole.log(JSON.stringify(result ?? null))\n"
    )
    return node_run(
        script,
        env={**NODE_ENV, "GRID": json.dumps(grid), "PARAMS": json.dumps(params)},
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def member(served, demo: dict, role: str = "editor", tenant: str = "demo") -> dict:
    """A new member of ``tenant`` of its own, as ``js`` wants it."""
    email = f"{unique('js-' + role)}@example.com"
    served.manage(
        "create_tenant_admin",
        email,
        "--tenant",
        tenant,
        "--password",
        PASSWORD,
        "--role",
        role,
    )
    return {
        "url": demo["url"],
        "api_key": demo["api_key"],
        "schema": tenant,
        "email": email,
        "password": PASSWORD,
    }


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def demo(served) -> dict:
    return served.demo()


@pytest.fixture(scope="module")
def editor(served, demo) -> dict:
    """An editor of the demo tenant, for the reads and writes."""
    return member(served, demo)


@pytest.fixture
def fresh(served, demo) -> dict:
    """A member for one test (signing out, throttling: nobody else's session)."""
    return member(served, demo)


@pytest.fixture(scope="module")
def greek(editor) -> dict:
    """Three things, alpha/beta/gamma plus a suffix, inserted with supabase-js."""
    suffix = uuid.uuid4().hex[:10]
    inserted = js(
        editor,
        """
        const grid = await signedIn()
        return answer(await grid.from('things').insert([
          { name: `alpha-${params.suffix}`, description: 'red fox' },
          { name: `beta-${params.suffix}`, description: 'lazy dog' },
          { name: `gamma-${params.suffix}`, description: 'quick fox' },
        ]).select())
        """,
        suffix=suffix,
    )
    assert inserted["status"] == 201, inserted
    return {
        "suffix": suffix,
        "ids": {row["name"].split("-")[0]: row["id"] for row in inserted["data"]},
        **{p: f"{p}-{suffix}" for p in ("alpha", "beta", "gamma")},
    }


@pytest.fixture(scope="module")
def task(editor) -> dict:
    """A thing with two typed fields and three entries (Ann 3, Bob 10, Cy)."""
    made = js(
        editor,
        """
        const grid = await signedIn()
        const thing = await grid.from('things').insert({ name: params.name })
          .select('id').single()
        const fields = await grid.from('fields').insert([
          { thing_id: thing.data.id, name: 'Name', data_type: 'text' },
          { thing_id: thing.data.id, name: 'Points', data_type: 'integer' },
        ]).select('id, name')
        const entries = await grid.from('entries').insert([
          { thing_id: thing.data.id, values: { Name: 'Ann', Points: 3 } },
          { thing_id: thing.data.id, values: { Name: 'Bob', Points: 10 } },
          { thing_id: thing.data.id, values: { Name: 'Cy' } },
        ]).select('id, values')
        return {
          thing: answer(thing), fields: answer(fields), entries: answer(entries),
        }
        """,
        name=unique("Task"),
    )
    assert made["thing"]["status"] == 201, made
    assert made["fields"]["status"] == 201, made
    assert made["entries"]["status"] == 201, made
    return {
        "thing_id": made["thing"]["data"]["id"],
        "fields": {f["name"]: f["id"] for f in made["fields"]["data"]},
        "entries": {e["values"]["Name"]: e["id"] for e in made["entries"]["data"]},
    }


@pytest.fixture(scope="module")
def other(served, demo) -> dict:
    """A second tenant, with a thing of its own, that the demo members are not in."""
    schema = f"iso_js_{uuid.uuid4().hex[:10]}"
    created = json.loads(
        served.manage("create_tenant", schema, "--name", "Other", "--json")
    )
    admin = member(served, demo, role="admin", tenant=schema)
    admin["api_key"] = created["api_key"]
    secret = unique("other-secret")
    inserted = js(
        admin,
        """
        const grid = await signedIn()
        return answer(await grid.from('things').insert({ name: params.name }).select())
        """,
        name=secret,
    )
    assert inserted["status"] == 201, inserted
    return {"schema": schema, "api_key": created["api_key"], "thing": secret}


# --------------------------------------------------------------------------
# /auth/v1


def test_sign_in_get_user_and_get_session(editor):
    result = js(
        editor,
        """
        const grid = connect()
        const signIn = await grid.auth.signInWithPassword({
          email: params.email, password: config.password,
        })
        const user = await grid.auth.getUser()
        const session = await grid.auth.getSession()
        return {
          signIn: {
            error: signIn.error, user: signIn.data.user, session: signIn.data.session,
          },
          user: {
            error: user.error, id: user.data.user?.id, email: user.data.user?.email,
          },
          sameSession:
            session.data.session?.access_token === signIn.data.session?.access_token,
        }
        """,
        email=editor["email"].upper(),  # as typed: emails are case-insensitive
    )
    signed_in = result["signIn"]
    assert signed_in["error"] is None
    assert signed_in["user"]["email"] == editor["email"]
    assert signed_in["user"]["app_metadata"]["tenants"] == ["demo"]
    session = signed_in["session"]
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 3600
    assert session["access_token"] and session["refresh_token"]
    assert result["user"] == {
        "error": None,
        "id": signed_in["user"]["id"],
        "email": editor["email"],
    }
    assert result["sameSession"] is True


def test_wrong_password_is_an_auth_api_error_with_its_code(editor):
    result = js(
        editor,
        """
        const { data, error } = await connect().auth.signInWithPassword({
          email: config.email, password: 'not the password',
        })
        return { session: data.session, error: authError(error) }
        """,
    )
    assert result == {
        "session": None,
        "error": {
            "name": "AuthApiError",
            "code": "invalid_credentials",
            "status": 400,
            "message": "Invalid login credentials",
            "isAuthApiError": True,
        },
    }


def test_refresh_session_rotates_the_refresh_token(editor):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const before = (await grid.auth.getSession()).data.session
        const refreshed = await grid.auth.refreshSession()
        const after = (await grid.auth.getSession()).data.session
        const things = await grid.from('things').select('id').limit(1)
        return {
          error: refreshed.error,
          rotated: refreshed.data.session?.refresh_token !== before.refresh_token,
          stored: after?.access_token === refreshed.data.session?.access_token,
          user: refreshed.data.user?.email,
          things: things.status,
        }
        """,
    )
    assert result == {
        "error": None,
        "rotated": True,
        "stored": True,
        "user": editor["email"],
        "things": 200,
    }


def test_concurrent_refreshes_with_one_token_keep_the_session(editor):
    """Server-side rendering and its middleware, or two tabs: two clients
    refresh with the same refresh token at the same moment (two requests).
    Within the reuse interval both get the session's current token."""
    result = js(
        editor,
        """
        const grid = await signedIn()
        const token = (await grid.auth.getSession()).data.session.refresh_token
        const ssr = connect(), middleware = connect()
        const [a, b] = await Promise.all([
          ssr.auth.refreshSession({ refresh_token: token }),
          middleware.auth.refreshSession({ refresh_token: token }),
        ])
        const reads = await Promise.all([
          ssr.from('things').select('id').limit(1),
          middleware.from('things').select('id').limit(1),
        ])
        // One client refreshing twice at once, with the token the two used.
        const twice = await Promise.all([
          grid.auth.refreshSession(), grid.auth.refreshSession(),
        ])
        // The shared token refreshes on.
        const onwards = await ssr.auth.refreshSession()
        return {
          errors: [a.error, b.error, ...twice.map((r) => r.error), onwards.error],
          same: a.data.session?.refresh_token === b.data.session?.refresh_token,
          rotated: a.data.session?.refresh_token !== token,
          reads: reads.map((r) => [r.status, r.error]),
          onwards:
            onwards.data.session?.refresh_token !== a.data.session?.refresh_token,
        }
        """,
    )
    assert result == {
        "errors": [None] * 5,
        "same": True,
        "rotated": True,
        "reads": [[200, None], [200, None]],
        "onwards": True,
    }


def test_sign_out_ends_the_session(fresh):
    result = js(
        fresh,
        """
        const grid = await signedIn()
        const old = (await grid.auth.getSession()).data.session
        const signOut = await grid.auth.signOut()
        const session = (await grid.auth.getSession()).data.session
        const rest = await withToken(old.access_token).from('things').select('id')
        const refresh = await connect().auth.refreshSession({
          refresh_token: old.refresh_token,
        })
        const user = await connect().auth.getUser(old.access_token)
        return {
          signOut: signOut.error,
          session,
          rest: answer(rest),
          refresh: authError(refresh.error),
          user: authError(user.error),
        }
        """,
    )
    assert result["signOut"] is None
    assert result["session"] is None
    assert result["rest"]["status"] == 401
    assert result["rest"]["error"]["code"] == "PGRST303"
    assert result["rest"]["data"] is None
    assert result["refresh"] == {
        "name": "AuthApiError",
        "code": "refresh_token_not_found",
        "status": 400,
        "message": "Invalid Refresh Token: Refresh Token Not Found",
        "isAuthApiError": True,
    }
    # GoTrue answers an ended session's token with `session_not_found`, which
    # supabase-js reports as a missing session.
    assert result["user"]["name"] == "AuthSessionMissingError"


def test_too_many_wrong_passwords_are_an_auth_api_error_429(fresh):
    result = js(
        fresh,
        """
        const codes = []
        for (let n = 0; n < 6; n++) {
          const { error } = await connect().auth.signInWithPassword({
            email: config.email, password: `guess ${n}`,
          })
          codes.push([error.status, error.code])
        }
        const right = await connect().auth.signInWithPassword({
          email: config.email, password: config.password,
        })
        return { codes, right: authError(right.error) }
        """,
    )
    assert result["codes"] == [[400, "invalid_credentials"]] * 5 + [
        [429, "over_request_rate_limit"]
    ]
    # From this address the right password waits too: the guesser learns nothing.
    assert result["right"]["code"] == "over_request_rate_limit"
    assert result["right"]["isAuthApiError"] is True


# --------------------------------------------------------------------------
# Tenant isolation


def test_another_tenants_profile_is_406_pgrst106_and_shows_nothing(editor, other):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const token = (await grid.auth.getSession()).data.session.access_token
        const elsewhere = withToken(token, params.other)
        return {
          read: answer(await elsewhere.from('things').select('*')),
          write: answer(await elsewhere.from('things').insert({ name: 'x' }).select()),
          missing: answer(
            await withToken(token, 'no_such_tenant').from('things').select('*')
          ),
          here: answer(
            await grid.from('things').select('name').eq('name', params.thing)
          ),
        }
        """,
        other=other["schema"],
        thing=other["thing"],
    )
    for call, schema in [
        ("read", other["schema"]),
        ("write", other["schema"]),
        ("missing", "no_such_tenant"),
    ]:
        assert result[call]["status"] == 406, result[call]
        assert result[call]["data"] is None
        assert result[call]["error"] == {
            "code": "PGRST106",
            "details": None,
            "hint": "Only the following schemas are exposed: demo",
            "message": f"Invalid schema: {schema}",
        }
    assert result["here"] == {"status": 200, "count": None, "error": None, "data": []}


def test_one_tenants_session_is_unknown_to_another_tenants_key(editor, other):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const token = (await grid.auth.getSession()).data.session.refresh_token
        const elsewhere = connect(params.other, params.otherKey)
        const refresh = await elsewhere.auth.refreshSession({ refresh_token: token })
        const signIn = await elsewhere.auth.signInWithPassword({
          email: config.email, password: config.password,
        })
        const still = await grid.auth.refreshSession()
        return {
          refresh: authError(refresh.error),
          signIn: authError(signIn.error),
          still: still.error,
        }
        """,
        other=other["schema"],
        otherKey=other["api_key"],
    )
    assert result["refresh"]["code"] == "refresh_token_not_found"
    assert result["refresh"]["status"] == 400
    assert result["signIn"]["code"] == "invalid_credentials"
    assert result["still"] is None


# --------------------------------------------------------------------------
# /rest/v1: reads


def test_select_star_returns_every_column(editor, greek):
    result = js(
        editor,
        """
        const grid = await signedIn()
        return answer(await grid.from('things').select('*').eq('name', params.name))
        """,
        name=greek["alpha"],
    )
    assert result["status"] == 200
    assert result["error"] is None
    [row] = result["data"]
    assert set(row) == {
        "id",
        "name",
        "description",
        "active",
        "created_by",
        "created_at",
        "updated_at",
    }
    assert (row["id"], row["name"], row["description"], row["active"]) == (
        greek["ids"]["alpha"],
        greek["alpha"],
        "red fox",
        True,
    )


FILTERS = {
    "eq": ("q.eq('name', n.beta)", ["beta"]),
    "neq": ("q.neq('name', n.beta)", ["alpha", "gamma"]),
    "in": ("q.in('name', [n.alpha, n.gamma])", ["alpha", "gamma"]),
    "ilike": ("q.ilike('name', '%ETA-%')", ["beta"]),
    "or": ("q.or(`name.eq.${n.alpha},description.eq.lazy dog`)", ["alpha", "beta"]),
    "not": ("q.not('name', 'in', `(${n.alpha},${n.gamma})`)", ["beta"]),
    "not is null": ("q.not('description', 'is', null)", ["alpha", "beta", "gamma"]),
}


@pytest.mark.parametrize("case", list(FILTERS))
def test_filter_selects_the_matching_rows(editor, greek, case):
    apply, expected = FILTERS[case]
    result = js(
        editor,
        f"""
        const grid = await signedIn()
        const n = params.names
        const q = grid.from('things').select('name').like('name', `*-${{n.suffix}}`)
        return answer(await {apply}.order('name'))
        """,
        names=greek,
    )
    assert result["status"] == 200, result
    assert [row["name"].split("-")[0] for row in result["data"]] == expected


def test_order_range_and_limit(editor, greek):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const mine = () =>
          grid.from('things').select('name').like('name', `%-${params.suffix}`)
        return {
          desc: answer(await mine().order('name', { ascending: false })),
          range: answer(await mine().order('name').range(1, 2)),
          limit: answer(await mine().order('description').limit(2)),
        }
        """,
        suffix=greek["suffix"],
    )

    def names(call):
        assert result[call]["status"] == 200, result[call]
        return [row["name"].split("-")[0] for row in result[call]["data"]]

    assert names("desc") == ["gamma", "beta", "alpha"]
    assert names("range") == ["beta", "gamma"]
    assert names("limit") == ["beta", "gamma"]  # lazy dog < quick fox < red fox


def test_count_exact(editor, greek):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const mine = (options) =>
          grid.from('things').select('name', options).like('name', `%-${params.suffix}`)
        return {
          page: answer(await mine({ count: 'exact' }).order('name').range(0, 0)),
          all: answer(await mine({ count: 'exact' })),
          head: answer(
            await grid.from('things').select('*', { count: 'exact', head: true })
              .like('name', `%-${params.suffix}`)
          ),
        }
        """,
        suffix=greek["suffix"],
    )
    assert result["page"] == {
        "status": 206,
        "count": 3,
        "error": None,
        "data": [{"name": greek["alpha"]}],
    }
    assert result["all"]["status"] == 200
    assert result["all"]["count"] == 3
    assert len(result["all"]["data"]) == 3
    assert result["head"] == {"status": 200, "count": 3, "error": None, "data": None}


def test_single_and_maybe_single(editor, greek):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const named = (...names) => grid.from('things').select('name').in('name', names)
        return {
          single: answer(await named(params.beta).single()),
          singleOfNone: answer(await named(params.absent).single()),
          maybe: answer(await named(params.gamma).maybeSingle()),
          maybeNone: answer(await named(params.absent).maybeSingle()),
          maybeTwo: answer(await named(params.alpha, params.beta).maybeSingle()),
        }
        """,
        alpha=greek["alpha"],
        beta=greek["beta"],
        gamma=greek["gamma"],
        absent=unique("absent"),
    )
    assert result["single"] == {
        "status": 200,
        "count": None,
        "error": None,
        "data": {"name": greek["beta"]},
    }
    assert result["singleOfNone"]["status"] == 406
    assert result["singleOfNone"]["data"] is None
    assert result["singleOfNone"]["error"] == {
        "code": "PGRST116",
        "details": "The result contains 0 rows",
        "hint": None,
        "message": "JSON object requested, multiple (or no) rows returned",
    }
    assert result["maybe"]["data"] == {"name": greek["gamma"]}
    assert result["maybeNone"] == {
        "status": 200,
        "count": None,
        "error": None,
        "data": None,
    }
    # supabase-js itself refuses the two rows of a 200.
    assert result["maybeTwo"]["error"]["code"] == "PGRST116"
    assert result["maybeTwo"]["data"] is None


def test_csv_returns_the_rows_as_text(editor, greek):
    result = js(
        editor,
        """
        const grid = await signedIn()
        return answer(
          await grid.from('things').select('name,description')
            .like('name', `%-${params.suffix}`).order('name').csv()
        )
        """,
        suffix=greek["suffix"],
    )
    assert result["status"] == 200
    assert result["data"].splitlines() == [
        "name,description",
        f"{greek['alpha']},red fox",
        f"{greek['beta']},lazy dog",
        f"{greek['gamma']},quick fox",
    ]


def test_embedded_select_of_things_with_their_fields(editor, task):
    result = js(
        editor,
        """
        const grid = await signedIn()
        return {
          thing: answer(
            await grid.from('things').select('id, fields(name)')
              .eq('id', params.thing).single()
          ),
          entry: answer(
            await grid.from('entries')
              .select('id, things(id), field_entries(entered_value, fields(name))')
              .eq('id', params.entry).single()
          ),
        }
        """,
        thing=task["thing_id"],
        entry=task["entries"]["Bob"],
    )
    assert result["thing"]["status"] == 200
    assert result["thing"]["data"] == {
        "id": task["thing_id"],
        "fields": [{"name": "Name"}, {"name": "Points"}],
    }
    entry = result["entry"]["data"]
    assert entry["things"] == {"id": task["thing_id"]}
    assert sorted(
        (fe["fields"]["name"], fe["entered_value"]) for fe in entry["field_entries"]
    ) == [("Name", "Bob"), ("Points", "10")]


def test_values_filters_on_entries(editor, task):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const entries = (columns = 'id') =>
          grid.from('entries').select(columns).eq('thing_id', params.thing)
        return {
          name: answer(await entries('id, values->>Name').eq('values->>Name', 'Bob')),
          points: answer(await entries().gt('values->>Points', 4)),
          ordered: answer(
            await entries('values->>Name')
              .order('values->>Points', { ascending: false, nullsFirst: false })
          ),
          blank: answer(await entries().is('values->>Points', null)),
          values: answer(await entries('values').eq('id', params.ann)),
        }
        """,
        thing=task["thing_id"],
        ann=task["entries"]["Ann"],
    )
    entries = task["entries"]
    assert result["name"]["data"] == [{"id": entries["Bob"], "Name": "Bob"}]
    # Compared as the field's type: 10 > 4 although "10" < "4".
    assert result["points"]["data"] == [{"id": entries["Bob"]}]
    assert [row["Name"] for row in result["ordered"]["data"]] == ["Bob", "Ann", "Cy"]
    assert result["blank"]["data"] == [{"id": entries["Cy"]}]
    assert result["values"]["data"] == [{"values": {"Name": "Ann", "Points": "3"}}]


# --------------------------------------------------------------------------
# /rest/v1: writes


def test_insert_select_returns_the_new_rows(editor):
    names = [unique("js-insert"), unique("js-insert")]
    result = js(
        editor,
        """
        const grid = await signedIn()
        const me = (await grid.auth.getUser()).data.user.id
        const one = await grid.from('things').insert({ name: params.names[0] }).select()
        const bare = await grid.from('things').insert({ name: params.names[1] })
        return { me, one: answer(one), bare: answer(bare) }
        """,
        names=names,
    )
    assert result["one"]["status"] == 201
    [row] = result["one"]["data"]
    assert row["name"] == names[0]
    assert row["created_by"] == result["me"]
    assert row["active"] is True
    assert isinstance(row["id"], int)
    # Without .select(): PostgREST's return=minimal, nothing in the body.
    assert result["bare"] == {"status": 201, "count": None, "error": None, "data": None}


def test_update_eq_select_returns_the_updated_rows(editor):
    names = sorted([unique("js-update"), unique("js-update")])
    result = js(
        editor,
        """
        const grid = await signedIn()
        await grid.from('things').insert(params.names.map((name) => ({ name })))
        const updated = await grid.from('things').update({ description: 'changed' })
          .eq('name', params.names[0]).select('name, description')
        const rows = await grid.from('things').select('name, description')
          .in('name', params.names).order('name')
        return { updated: answer(updated), rows: answer(rows) }
        """,
        names=names,
    )
    assert result["updated"] == {
        "status": 200,
        "count": None,
        "error": None,
        "data": [{"name": names[0], "description": "changed"}],
    }
    assert result["rows"]["data"] == [
        {"name": names[0], "description": "changed"},
        {"name": names[1], "description": ""},
    ]


def test_upsert_inserts_then_merges(editor, task):
    result = js(
        editor,
        """
        const grid = await signedIn()
        const entry = await grid.from('entries')
          .insert({ thing_id: params.thing, values: { Name: 'Upsert' } })
          .select('id').single()
        const row = (value) => ({
          entry_id: entry.data.id, field_id: params.points, entered_value: value,
        })
        const upsert = (value) => grid.from('field_entries')
          .upsert(row(value), { onConflict: 'entry_id,field_id' })
        const inserted = await upsert('7').select('entered_value')
        const merged = await upsert('8').select('entered_value')
        const quiet = await upsert('9')
        const stored = await grid.from('entries').select('values->>Points')
          .eq('id', entry.data.id)
        return {
          inserted: answer(inserted),
          merged: answer(merged),
          quiet: answer(quiet),
          stored: answer(stored),
        }
        """,
        thing=task["thing_id"],
        points=task["fields"]["Points"],
    )
    assert result["inserted"]["status"] == 201
    assert result["inserted"]["data"] == [{"entered_value": "7"}]
    # PostgREST 12: a merge that inserts nothing is 200.
    assert result["merged"]["status"] == 200
    assert result["merged"]["data"] == [{"entered_value": "8"}]
    assert result["quiet"] == {
        "status": 200,
        "count": None,
        "error": None,
        "data": None,
    }
    assert result["stored"]["data"] == [{"Points": "9"}]


def test_delete_eq_removes_the_row(editor):
    name = unique("js-delete")
    result = js(
        editor,
        """
        const grid = await signedIn()
        await grid.from('things').insert({ name: params.name })
        const deleted = await grid.from('things').delete().eq('name', params.name)
        const gone = await grid.from('things').select('name').eq('name', params.name)
        const inactive = await grid.from('things').select('name, active')
          .eq('name', params.name).eq('active', false)
        return {
          deleted: answer(deleted), gone: answer(gone), inactive: answer(inactive),
        }
        """,
        name=name,
    )
    assert result["deleted"] == {
        "status": 204,
        "count": None,
        "error": None,
        "data": None,
    }
    assert result["gone"]["data"] == []
    # Deleting is soft: the row stays readable as inactive.
    assert result["inactive"]["data"] == [{"name": name, "active": False}]


# --------------------------------------------------------------------------
# /rest/v1: errors


def test_errors_carry_postgrest_codes_and_messages(editor, task):
    result = js(
        editor,
        """
        const grid = await signedIn()
        return {
          column: answer(await grid.from('things').select('nope')),
          value: answer(await grid.from('things').select('name').eq('id', 'abc')),
          fieldValue: answer(
            await grid.from('entries')
              .insert({ thing_id: params.thing, values: { Points: 'many' } }).select()
          ),
        }
        """,
        thing=task["thing_id"],
    )
    assert result["column"] == {
        "status": 400,
        "count": None,
        "data": None,
        "error": {
            "code": "42703",
            "details": None,
            "hint": None,
            "message": "column things.nope does not exist",
        },
    }
    assert result["value"]["status"] == 400
    assert result["value"]["error"]["code"] == "22P02"
    assert result["value"]["error"]["message"] == (
        'invalid input syntax for type bigint: "abc"'
    )
    assert result["fieldValue"]["status"] == 400
    assert result["fieldValue"]["error"]["code"] == "23514"
    assert "'many' is not a whole number" in result["fieldValue"]["error"]["message"]
