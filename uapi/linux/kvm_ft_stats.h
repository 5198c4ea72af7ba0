/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* Written by Documentation/netlink/gen.py from specs/kvm_ft.yaml: do not edit. */
#ifndef _UAPI_LINUX_KVM_FT_STATS_H
#define _UAPI_LINUX_KVM_FT_STATS_H

/* X(NAME, name, unit, COUNTER|GAUGE, PRIMARY|BACKUP|BOTH, what): kvm_ft.h */
#define KVM_FT_STATS(X) \
	X(CUR_EPOCH, cur_epoch, "epoch", GAUGE, BOTH, \
	  "the newest epoch begun: being sent or received") \
	X(LAST_EPOCH, last_epoch, "epoch", GAUGE, BOTH, \
	  "the newest epoch committed") \
	X(EPOCHS, epochs, "epochs", COUNTER, BOTH, \
	  "epochs committed: acknowledged by the backup (primary), applied (backup)") \
	X(PAGES, pages, "pages", COUNTER, BOTH, \
	  "guest pages sent (primary) or applied (backup)") \
	X(BYTES_TX, bytes_tx, "bytes", COUNTER, PRIMARY, \
	  "bytes sent to the backup") \
	X(BYTES_RX, bytes_rx, "bytes", COUNTER, BOTH, \
	  "bytes received from the peer") \
	X(HEARTBEATS, heartbeats, "frames", COUNTER, BOTH, \
	  "heartbeats received from the peer") \
	X(PEER_LOST, peer_lost, "links", COUNTER, BOTH, \
	  "links to the peer lost") \
	X(SYNC_DONE, sync_done, "pages", GAUGE, PRIMARY, \
	  "pages of the first copy of guest memory (the sync) sent") \
	X(SYNC_TOTAL, sync_total, "pages", GAUGE, PRIMARY, \
	  "pages the sync sends in all") \
	X(PAUSE_LAST_NS, pause_last_ns, "ns", GAUGE, PRIMARY, \
	  "how long the vCPUs were held for the last epoch") \
	X(PAUSE_MAX_NS, pause_max_ns, "ns", GAUGE, PRIMARY, \
	  "the longest the vCPUs were held for one epoch") \
	X(PAUSE_TOTAL_NS, pause_total_ns, "ns", COUNTER, PRIMARY, \
	  "how long the vCPUs were held, all epochs together") \
	X(STALLS, stalls, "ticks", COUNTER, PRIMARY, \
	  "epoch ticks that waited: inflight_max epochs unacknowledged") \
	X(INFLIGHT, inflight, "epochs", GAUGE, PRIMARY, \
	  "epochs sent and not yet acknowledged") \
	X(DEVICE_TIMEOUTS, device_timeouts, "epochs", COUNTER, PRIMARY, \
	  "epochs whose device state did not come in time (not taken)") \
	X(DEVICE_LEN, device_len, "bytes", GAUGE, PRIMARY, \
	  "the size of the last device state") \
	X(PARK_TIMEOUTS, park_timeouts, "epochs", COUNTER, PRIMARY, \
	  "epochs not taken: a vCPU could not be held in time") \
	X(EPOCH_PAGES_MAX, epoch_pages_max, "pages", GAUGE, PRIMARY, \
	  "the most pages one epoch after the sync carried") \
	X(VERIFIED, verified, "epochs", COUNTER, BACKUP, \
	  "epochs whose memory was checked equal to the primary's") \
	X(OUT_HELD, out_held, "packets", COUNTER, PRIMARY, \
	  "packets of guest output held until their epoch committed") \
	X(OUT_HELD_BYTES, out_held_bytes, "bytes", COUNTER, PRIMARY, \
	  "bytes of guest output held") \
	X(OUT_RELEASED, out_released, "packets", COUNTER, PRIMARY, \
	  "packets of guest output released") \
	X(OUT_RELEASED_BYTES, out_released_bytes, "bytes", COUNTER, PRIMARY, \
	  "bytes of guest output released") \
	X(OUT_DROPPED, out_dropped, "packets", COUNTER, PRIMARY, \
	  "packets of guest output dropped: output_max_kb held already") \
	X(OUT_DEPTH, out_depth, "bytes", GAUGE, PRIMARY, \
	  "bytes of guest output held now") \
	X(CHECKPOINT, checkpoint, "epoch", GAUGE, BACKUP, \
	  "the epoch a failover now would resume from (0: no checkpoint)") \
	X(ZERO_PAGES, zero_pages, "pages", COUNTER, BOTH, \
	  "of pages, those all zero: sent as their numbers only (primary), or cleared (backup)") \
	X(DELTA_PAGES, delta_pages, "pages", COUNTER, BOTH, \
	  "of pages, those sent as their differences from the backup's copy (primary), or applied so (backup)") \
	X(EARLY_COPIES, early_copies, "pages", COUNTER, PRIMARY, \
	  "of the frames copied after the vCPUs resumed (copy_after_resume), those copied early because something was about to write them") \
	X(VCPU_DELTAS, vcpu_deltas, "states", COUNTER, BOTH, \
	  "of vCPU states, those sent as their differences from the vCPU's state before (primary), or applied so (backup)") \
	X(DEVICE_DELTAS, device_deltas, "epochs", COUNTER, BOTH, \
	  "of device states, those sent as their differences from the one before (primary), or applied so (backup)")

#endif
