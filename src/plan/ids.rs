//! UUIDs (core.md §6.2): HMAC-SHA256 of the seed over the type UUID and a counter, and the
//! disk GUID over `disk-uuid`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::PlanOptions;
use super::list::Context;
use crate::config::definition::UuidSetting;

/// Marks the first 16 bytes of a MAC as a version 4, RFC 4122 variant UUID.
fn make_v4(mac: &[u8]) -> Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&mac[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// HMAC-SHA256 over the concatenated `message`, as a v4 UUID. Keys are at most 32 bytes;
/// HMAC pads short keys with zeros to the 64-byte block, so padding them here is the same.
fn hmac_v4(key: &[u8], message: &[&[u8]]) -> Uuid {
    let mut block = [0u8; 64];
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in message {
        mac.update(part);
    }
    make_v4(&mac.finalize().into_bytes())
}

/// The disk GUID of a new table.
pub fn disk_guid(seed: Uuid) -> Uuid {
    hmac_v4(seed.as_bytes(), &[b"disk-uuid"])
}

/// The UUID of the `k`-th partition (0-based) of type `type_uuid`.
pub fn partition_uuid(seed: Uuid, type_uuid: Uuid, k: u64) -> Uuid {
    let counter = k.to_le_bytes();
    if k == 0 {
        hmac_v4(seed.as_bytes(), &[type_uuid.as_bytes()])
    } else {
        hmac_v4(seed.as_bytes(), &[type_uuid.as_bytes(), &counter])
    }
}

/// The file system UUID of a partition (mkswap's `-U`, mkfs's UUID): derived from the
/// partition's UUID and the token `file-system-uuid`, as v262 does.
pub fn file_system_uuid(partition_uuid: Uuid) -> Uuid {
    hmac_v4(partition_uuid.as_bytes(), &[b"file-system-uuid"])
}

/// A UUID for a derived one that collides, from the caller's entropy: v262 takes a random one.
fn fallback_uuid(entropy: &[u8; 32], index: usize) -> Uuid {
    let index = (index as u64).to_le_bytes();
    hmac_v4(entropy, &[b"uuid-collision", &index])
}

/// Gives every managed partition its UUID: an existing non-zero one is kept; otherwise the
/// explicit `UUID=` or the derived one. Foreign partitions keep theirs.
pub fn assign(ctx: &mut Context, options: &PlanOptions) {
    for p in 0..ctx.parts.len() {
        let part = &ctx.parts[p];
        let current = part.current.as_ref().map(|c| c.uuid);
        let setting = part.managed_def(ctx.defs).map(|d| d.uuid);
        let uuid = match (setting, current) {
            (None, c) => c.unwrap_or_default(),
            (Some(_), Some(c)) if !c.is_nil() => c,
            (Some(UuidSetting::Fixed(u)), _) => u,
            (Some(UuidSetting::Null), _) => Uuid::nil(),
            (Some(UuidSetting::Derived), _) => derive(ctx, p, options),
        };
        ctx.parts[p].new_uuid = uuid;
    }
}

/// The derived UUID of partition `p`: k counts every earlier partition of the same type.
/// If it equals any other partition's current or (already known) new UUID, v262 falls back
/// to a random one.
fn derive(ctx: &Context, p: usize, options: &PlanOptions) -> Uuid {
    let t = ctx.parts[p].type_uuid;
    let k = ctx.parts[..p].iter().filter(|q| q.type_uuid == t).count() as u64;
    let uuid = partition_uuid(options.seed, t, k);
    let known_new = |q: usize| -> Uuid {
        if q < p {
            return ctx.parts[q].new_uuid;
        }
        // Later partitions only have a new UUID yet if it was given explicitly.
        match ctx.uuid_setting(q) {
            Some(UuidSetting::Fixed(u)) => u,
            _ => Uuid::nil(),
        }
    };
    let collides = (0..ctx.parts.len()).filter(|&q| q != p).any(|q| {
        ctx.parts[q]
            .current
            .as_ref()
            .is_some_and(|c| c.uuid == uuid)
            || known_new(q) == uuid
    });
    if collides {
        fallback_uuid(&options.fallback_entropy, p)
    } else {
        uuid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "e2f1a58f-2c2a-4a4b-9f3e-7c1c0de5a5a1";

    fn u(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    #[test]
    fn disk_guid_matches_the_test_vector() {
        assert_eq!(
            disk_guid(u(SEED)),
            u("88037571-2d10-4560-ad11-28550017e775")
        );
        // The machine-id case of core.md §6.1.
        assert_eq!(
            disk_guid(u("01234567-89ab-cdef-0123-456789abcdef")),
            u("6913f4b6-6690-4a57-a202-f1b53c56dbdf")
        );
    }

    #[test]
    fn partition_uuids_match_the_measured_table() {
        let seed = u(SEED);
        let root = u("4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
        let home = u("933ac7e1-2eb4-4f13-b844-0e14e2aef915");
        let verity = u("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5");
        let cases = [
            (root, 0, "b08c4df5-f14d-44a6-b87b-5d48dbb3ffe9"),
            (root, 1, "62afe8bf-2fba-448d-b069-987047ed28c3"),
            (home, 0, "942ca261-2978-4d8a-8c08-e916c5bf9d3a"),
            (home, 1, "240177b0-e8cb-436e-b44a-6aaa67c11103"),
            (home, 2, "fdfcae13-d6c5-4864-b47e-3ed2144f078b"),
            (home, 3, "76edfd2a-ba9a-4691-af45-00d25d4a2ac6"),
            (verity, 1, "7bcea9da-c8cd-4c86-bf05-0f34856d10e6"),
        ];
        for (t, k, want) in cases {
            assert_eq!(partition_uuid(seed, t, k), u(want), "type {t} k={k}");
        }
        let machine = u("01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(
            partition_uuid(machine, home, 0),
            u("c6384fca-e59b-4b73-a86f-ab8b15536288")
        );
    }

    #[test]
    fn make_v4_sets_version_and_variant() {
        let mac = [0xffu8; 32];
        let id = make_v4(&mac);
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.as_bytes()[8] & 0xc0, 0x80);
        let id = make_v4(&[0u8; 32]);
        assert_eq!(id.to_string(), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn fallback_uuids_differ_per_partition() {
        let e = [7u8; 32];
        assert_ne!(fallback_uuid(&e, 0), fallback_uuid(&e, 1));
        assert_eq!(fallback_uuid(&e, 3).get_version_num(), 4);
    }
}

#[cfg(test)]
mod assign_tests {
    use super::super::tests_support::*;

    #[test]
    fn counters_include_explicit_and_dropped_partitions() {
        let plan = plan_on(
            &disk(64, vec![]),
            &[
                "10-home:UUID=11111111-2222-4333-8444-555555555555:SizeMaxBytes=8M",
                "20-home:UUID=null:SizeMaxBytes=8M",
                "30-home:SizeMinBytes=1G:Priority=1",
                "40-home:SizeMaxBytes=8M",
            ],
        );
        let p = &plan.partitions;
        assert_eq!(p[0].uuid, uuid("11111111-2222-4333-8444-555555555555"));
        assert!(p[1].uuid.is_nil());
        assert!(p[2].dropped);
        assert_eq!(p[2].uuid, uuid("fdfcae13-d6c5-4864-b47e-3ed2144f078b"));
        assert_eq!(p[3].uuid, uuid("76edfd2a-ba9a-4691-af45-00d25d4a2ac6"));
    }

    #[test]
    fn a_colliding_derived_uuid_is_replaced() {
        let mut srv = existing(0, "srv", 2048, 4095, "s");
        srv.uuid = uuid("942ca261-2978-4d8a-8c08-e916c5bf9d3a");
        let plan = plan_on(&disk(64, vec![srv]), &["10-home:SizeMaxBytes=8M"]);
        let home = &plan.partitions[0];
        assert_ne!(home.uuid, uuid("942ca261-2978-4d8a-8c08-e916c5bf9d3a"));
        assert_eq!(home.uuid.get_version_num(), 4);
        // A later explicit UUID= counts as taken too.
        let plan = plan_on(
            &disk(64, vec![]),
            &[
                "10-home:SizeMaxBytes=8M",
                "20-srv:UUID=942ca261-2978-4d8a-8c08-e916c5bf9d3a:SizeMaxBytes=8M",
            ],
        );
        assert_ne!(plan.partitions[0].uuid, plan.partitions[1].uuid);
    }
}
