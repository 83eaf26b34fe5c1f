# Installs repart-rs and its boot integration. Build first:
#   cargo build --release --target x86_64-unknown-linux-musl
# then: make install [DESTDIR=...] [PREFIX=/usr] [BINDIR=...] [UNITDIR=...] [DRACUTDIR=...]
#       [MKINITCPIODIR=...] [BINARY=...]
# The units call /usr/bin/repart; with another BINDIR they are rewritten to call
# $(BINDIR)/repart. Inside initrds (dracut, mkinitcpio) the agent is always /usr/bin/repart.
# The boot-time units are linked into their targets; the Varlink socket
# (repart-rs.socket, with repart-rs@.service) is installed but left for
# `systemctl enable repart-rs.socket` to turn on.

PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DRACUTDIR ?= $(PREFIX)/lib/dracut/modules.d
MKINITCPIODIR ?= $(PREFIX)/lib/initcpio
BINARY ?= target/x86_64-unknown-linux-musl/release/repart

DRACUT_MODULE = $(DESTDIR)$(DRACUTDIR)/90repart-rs

.PHONY: install
install:
	@test -x $(BINARY) || { echo "$(BINARY) is missing: build it first (see Makefile)"; exit 1; }
	install -D -m 0755 $(BINARY) $(DESTDIR)$(BINDIR)/repart
	install -d $(DESTDIR)$(UNITDIR)/initrd-root-fs.target.wants $(DESTDIR)$(UNITDIR)/sysinit.target.wants
	for unit in repart-rs.service repart-rs-initrd.service repart-rs.socket repart-rs@.service; do \
		sed 's#^ExecStart=/usr/bin/repart\( \|$$\)#ExecStart=$(BINDIR)/repart\1#' units/$$unit > $(DESTDIR)$(UNITDIR)/$$unit && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done
	ln -sf ../repart-rs-initrd.service $(DESTDIR)$(UNITDIR)/initrd-root-fs.target.wants/repart-rs-initrd.service
	ln -sf ../repart-rs.service $(DESTDIR)$(UNITDIR)/sysinit.target.wants/repart-rs.service
	install -D -m 0755 dracut/90repart-rs/module-setup.sh $(DRACUT_MODULE)/module-setup.sh
	install -D -m 0755 dracut/90repart-rs/repart-rs-pre-pivot.sh $(DRACUT_MODULE)/repart-rs-pre-pivot.sh
	install -D -m 0644 units/repart-rs-initrd.service $(DRACUT_MODULE)/repart-rs-initrd.service
	install -D -m 0644 mkinitcpio/install/repart-rs $(DESTDIR)$(MKINITCPIODIR)/install/repart-rs
	install -D -m 0644 mkinitcpio/hooks/repart-rs $(DESTDIR)$(MKINITCPIODIR)/hooks/repart-rs
