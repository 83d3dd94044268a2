"""The audit trail. Every service records its change here, inside its own transaction."""

from accounts.models import AuditEvent


def actor_label(actor) -> str:
    """A stable, secret-free label for whoever acts: a user, a client, or a system process."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    client_id = getattr(actor, "client_id", None)
    if client_id:
        return f"client:{client_id}"
    username = getattr(actor, "username", None)
    if username:
        return f"user:{username}"
    return str(actor)


def record(*, actor, action: str, target=None, target_type: str = "", target_id: str = "", **data) -> AuditEvent:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditEvent.objects.create(
        actor=actor_label(actor), action=action, target_type=target_type, target_id=target_id, data=data
    )
