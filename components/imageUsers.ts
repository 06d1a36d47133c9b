// Who each official image runs as: the pod's and every container's identity, and the volume's group.

/** The non-root identity an image runs as, and the group that must own its volume. */
export interface ImageUser {
    uid: number;
    gid: number;
    fsGroup: number;
}

/**
 * Users of the official images. mariadb: `useradd -r mysql` on Ubuntu jammy takes the first system id, 999.
 * redis:7.2-alpine: `adduser -u 999 -G redis` with group id 1000 ("alpine already has a gid 999").
 * apache/kafka: `adduser appuser` on Alpine takes the first regular id, 1000.
 */
export const IMAGE_USERS = {
    mariadb: { uid: 999, gid: 999, fsGroup: 999 },
    redis: { uid: 999, gid: 1000, fsGroup: 1000 },
    kafka: { uid: 1000, gid: 1000, fsGroup: 1000 },
} satisfies Record<string, ImageUser>;
