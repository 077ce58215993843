"""Shared helpers of the local OpenStack's Python scripts (smoke.py, replay.py)."""


def detach_volume(conn, server, volume, wait):
    """Detaches `volume` from `server` and waits until Cinder says it is available again.

    openstacksdk 0.101 (Debian 12) takes (attachment, server); the attachment id of a server's
    volume is the volume id.
    """
    conn.compute.delete_volume_attachment(volume, server, ignore_missing=False)
    conn.block_storage.wait_for_status(
        conn.block_storage.get_volume(volume), "available", wait=wait
    )
