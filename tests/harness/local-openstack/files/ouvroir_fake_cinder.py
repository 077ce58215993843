"""Cinder backend of the local OpenStack: cinder's own fake driver plus the calls it lacks.

The kernel here has no device-mapper, iSCSI target or NFS, so no real backend can run. The
fake driver shipped in python3-cinder accepts create/attach/snapshot but has no extend (so
online extend of an attached volume fails) and would try to write image bytes to a device when
a volume is created from an image (boot from volume). Those become no-ops: the API, scheduler,
volume manager and the Nova-Cinder attach flow stay real; no bytes live behind volumes.
"""

from cinder.tests import fake_driver


class ExtendableFakeDriver(fake_driver.FakeLoggingVolumeDriver):
    def extend_volume(self, volume, new_size):
        pass

    def copy_image_to_volume(self, context, volume, image_service, image_id):
        pass

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        pass

    def clone_image(self, context, volume, image_location, image_meta, image_service):
        return None, False

    def revert_to_snapshot(self, context, volume, snapshot):
        pass
