from sqlalchemy import text

from server.cli import cli
from server.services import audit


def test_chain_verifies_and_names_the_altered_row(app_ctx, session, factory, now):
    tenant = factory.tenant()
    factory.user(tenant, "editor")
    for i in range(3):
        audit.record(session, now=now, action="test.event", object_type="x", object_id=i)
    session.commit()
    assert audit.verify(session).ok
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    target = audit.verify(session).rows - 1
    session.execute(
        text("UPDATE audit_entry SET details = :d WHERE seq = :s"), {"d": '{"x":1}', "s": target}
    )
    session.commit()
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"Nr. {target}" in result.output
