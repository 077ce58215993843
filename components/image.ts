import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

/** Which image to boot (config key `ouvroir:image`). */
export interface ImageConfig {
    /** An image id: wins over everything else. */
    readonly id?: string;
    /** An exact image name. */
    readonly name?: string;
    /** Otherwise the newest image whose name matches this regular expression. */
    readonly namePattern: string;
}

/**
 * The image every role boots: an id, an exact name, or by default the newest image whose name
 * matches the pattern (the cloud removes old images). A stateful role ignores later changes of
 * this value, so a new image never replaces a running VM (see RoleVm).
 */
export function imageId(image: ImageConfig, opts?: pulumi.InvokeOptions): pulumi.Output<string> {
    if (image.id) return pulumi.output(image.id);
    const args = image.name
        ? { name: image.name, mostRecent: true }
        : { nameRegex: image.namePattern, mostRecent: true };
    return openstack.images.getImageOutput(args, opts).id;
}
