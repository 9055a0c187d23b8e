#!/bin/sh
# /init of the guest test tier: mounts the kernel's file systems, loads the virtio modules in dependency order,
# runs the test script a test appended as /jv/test.sh (a second cpio archive after this one), prints its exit status
# as a result line and powers off, so that QEMU (-no-reboot) exits.
# Result lines on the serial console have the form: JV-RESULT key=value [key=value ...]
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
loaded=0
for m in @MODULES@; do
  if insmod "/lib/modules/$m.ko"; then
    loaded=$((loaded + 1))
  else
    echo "JV-RESULT module_failed=$m"
  fi
done
echo "JV-RESULT boot=ok modules=$loaded kernel=$(uname -r)"
# virtio devices the guest bound: name, device id, and the feature bits it negotiated (sysfs: one char per bit)
for d in /sys/bus/virtio/devices/*; do
  [ -e "$d/device" ] || continue
  echo "JV-RESULT virtio_$(basename "$d")=device:$(cat "$d/device"),driver:$(basename "$(readlink "$d/driver")"),features:$(cat "$d/features")"
done
if [ -f /jv/test.sh ]; then
  sh /jv/test.sh
  echo "JV-RESULT exit=$?"
else
  echo "JV-RESULT exit=none"
fi
sync
poweroff -f
