package io.jvirtio.virtio.vhostuser;

import io.jvirtio.bus.event.EventFd;
import io.jvirtio.bus.event.LinuxEventFd;
import io.jvirtio.bus.linux.UnixSocket;
import io.jvirtio.virtio.DeviceHost;
import io.jvirtio.virtio.VirtioDevice;
import io.jvirtio.virtio.VirtioFeatures;
import io.jvirtio.virtio.queue.AvailRingLayout;
import io.jvirtio.virtio.queue.DescriptorLayout;
import io.jvirtio.virtio.queue.QueueConfigStatus;
import io.jvirtio.virtio.queue.QueueError;
import io.jvirtio.virtio.queue.SplitQueue;
import io.jvirtio.virtio.queue.SplitQueueConfig;
import io.jvirtio.virtio.queue.UsedRingLayout;
import io.jvirtio.virtio.queue.VirtQueue;
import io.jvirtio.virtio.transport.ActiveContext;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.jvirtio.virtio.vhostuser.MessageChecks.expect;
import static io.jvirtio.virtio.vhostuser.MessageChecks.expectFds;
import static io.jvirtio.virtio.vhostuser.MessageChecks.expectSize;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.ADDR_AVAIL_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.ADDR_DESC_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.ADDR_INDEX_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.ADDR_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.ADDR_USED_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.FILE_INDEX_MASK;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.FILE_NOFD;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.MAX_REGIONS;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.MEMORY_NREGIONS_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.MEMORY_REGIONS_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.NEED_REPLY;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REGION_GUEST_ADDR_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REGION_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REGION_MMAP_OFFSET_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REGION_SIZE_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.REGION_USER_ADDR_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.STATE_INDEX_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.STATE_LENGTH;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.STATE_NUM_OFFSET;
import static io.jvirtio.virtio.vhostuser.VhostUserMessageLayout.U64_LENGTH;

/**
 * The back-end side of the vhost-user protocol for one {@link VirtioDevice} (QEMU docs/interop/vhost-user.rst): it
 * answers the front-end's messages, maps the memory table, keeps each ring's state, and activates the device, the
 * same device class a transport presents in the simulated VM, when the rings it needs are started.
 * <p>
 * <b>Rings</b> ("Starting and stopping rings"). A ring is started by SET_VRING_KICK and stopped by GET_VRING_BASE,
 * which answers its {@code last_avail_idx}. Without VHOST_USER_F_PROTOCOL_FEATURES a started ring is enabled at once;
 * with it, it starts disabled and waits for SET_VRING_ENABLE. A ring runs when it is started, enabled and has a size
 * and addresses. The device is active exactly while at least {@code minRings} rings run and every started ring runs;
 * any change (a ring stopped, disabled or added, a new memory table, new features) deactivates it (a device reset,
 * each running ring's next available index saved) and activates it again when the rule holds. A ring's used index
 * at activation is read from the used ring, where the device's last publish left it. A started but disabled ring is
 * not processed: kicks wait in its eventfd until it is enabled.
 * <p>
 * <b>Kicks and calls.</b> Kick fds are adopted as {@link LinuxEventFd}s and handed to the device in its
 * {@link io.jvirtio.virtio.DeviceContext}; its workers wait on them with epoll. Calls go through
 * {@link CallInterrupt}. Configuration change and needs-reset notifications have no channel here (the back-end
 * channel and STATUS are not offered): they are counted.
 * <p>
 * <b>Hostile front-end.</b> Every payload size, ring index, ring size, fd count and address is checked before it is
 * used; a violation throws {@link VhostUserException} naming its counter, and the server closes the connection
 * ({@link #disconnect()} then resets the device and releases every fd and mapping).
 * <p>
 * Thread safety: every method runs on the connection thread of {@link VhostUserServer}, one connection at a time;
 * the device's workers run between activation and reset. {@link #counters()} and {@link #isActive()} may be read
 * from any thread.
 */
public final class VhostUserBackend implements DeviceHost
{
    private static final System.Logger LOG = System.getLogger(VhostUserBackend.class.getName());
    private static final int U16_MASK = 0xFFFF;

    private final VirtioDevice device;
    private final int rings;
    private final int minRings;
    private final VhostUserCounters counters;
    private final long offeredFeatures;
    private final long offeredProtocolFeatures;
    private final CallInterrupt interrupt;

    private final int[] ringNum;
    private final int[] ringBase;
    private final long[] descUserAddr;
    private final long[] usedUserAddr;
    private final long[] availUserAddr;
    private final boolean[] addrSet;
    private final boolean[] enabled;
    private final LinuxEventFd[] kicks;
    private final LinuxEventFd[] errs;
    private final boolean[] running;

    private MemoryTable table;
    private long features;
    private boolean featuresSet;
    private long protocolFeatures;
    private SplitQueue[] queues;
    private volatile boolean active;
    private volatile long activeFeatures;

    /**
     * @param device   the device to serve; attached here, so it must not be attached to anything else.
     * @param rings    how many rings the front-end may use, from 1 to {@link VirtioDevice#queueCount()} (for
     *                 virtio-net, the RX and TX rings only: QEMU keeps the control queue for itself).
     * @param minRings how many rings must run before the device is activated (2 for net: RX and TX).
     * @param counters where errors are counted.
     */
    public VhostUserBackend(final VirtioDevice device, final int rings, final int minRings,
        final VhostUserCounters counters)
    {
        if (rings < 1 || rings > device.queueCount() || rings > FILE_INDEX_MASK + 1)
        {
            throw new IllegalArgumentException("rings must be 1 to the device's queue count: rings=" + rings
                + ", queueCount=" + device.queueCount());
        }
        if (minRings < 1 || minRings > rings)
        {
            throw new IllegalArgumentException("minRings must be 1 to rings: minRings=" + minRings + ", rings="
                + rings);
        }
        this.device = device;
        this.rings = rings;
        this.minRings = minRings;
        this.counters = counters;
        this.offeredFeatures = device.deviceFeatures() | VirtioFeatures.bit(VirtioFeatures.VIRTIO_F_VERSION_1)
            | VirtioFeatures.bit(VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES);
        this.offeredProtocolFeatures = VirtioFeatures.bit(VhostUserProtocolFeature.MQ)
            | VirtioFeatures.bit(VhostUserProtocolFeature.REPLY_ACK)
            | VirtioFeatures.bit(VhostUserProtocolFeature.CONFIG);
        this.interrupt = new CallInterrupt(rings, counters);
        this.ringNum = new int[rings];
        this.ringBase = new int[rings];
        this.descUserAddr = new long[rings];
        this.usedUserAddr = new long[rings];
        this.availUserAddr = new long[rings];
        this.addrSet = new boolean[rings];
        this.enabled = new boolean[rings];
        this.kicks = new LinuxEventFd[rings];
        this.errs = new LinuxEventFd[rings];
        this.running = new boolean[rings];
        device.attach(this);
    }

    /** @return the device served. */
    public VirtioDevice device()
    {
        return device;
    }

    /** @return the number of rings served (GET_QUEUE_NUM). */
    public int rings()
    {
        return rings;
    }

    /** @return the counters. */
    public VhostUserCounters counters()
    {
        return counters;
    }

    /** @return what GET_FEATURES answers: the device's features, VERSION_1 and VHOST_USER_F_PROTOCOL_FEATURES. */
    public long offeredFeatures()
    {
        return offeredFeatures;
    }

    /** @return what GET_PROTOCOL_FEATURES answers. */
    public long offeredProtocolFeatures()
    {
        return offeredProtocolFeatures;
    }

    /** @return the protocol features of the current connection. */
    public long protocolFeatures()
    {
        return protocolFeatures;
    }

    /** @return true while the device is activated. */
    public boolean isActive()
    {
        return active;
    }

    /** @return the features the device was last activated with (vhost-user bit 30 removed). */
    public long activeFeatures()
    {
        return activeFeatures;
    }

    /** @return true if a message with these flags wants a REPLY_ACK status and REPLY_ACK was negotiated. */
    public boolean wantsAck(final int flags)
    {
        return (flags & NEED_REPLY) != 0 && VirtioFeatures.has(protocolFeatures, VhostUserProtocolFeature.REPLY_ACK);
    }

    // ---------------------------------------------------------------------------------------------- dispatch

    /**
     * Serves one message.
     *
     * @param request the request code.
     * @param flags   the header flags (already checked for version and reply).
     * @param payload exactly the payload's bytes.
     * @param fds     the connection, holding the fds that came with the message (taken ones become the back-end's;
     *                the server closes the rest).
     * @param reply   where a reply payload goes, at least {@link VhostUserMessageLayout#MAX_PAYLOAD} bytes.
     * @return the reply payload's length, or -1 for no reply (a REPLY_ACK status is added by the caller).
     * @throws VhostUserException if the message is refused; the connection must then be closed.
     */
    public int handle(final int request, final int flags, final MemorySegment payload, final UnixSocket fds,
        final MemorySegment reply)
    {
        final int size = (int)payload.byteSize();
        switch (request)
        {
            case VhostUserRequest.GET_FEATURES ->
            {
                expect(request, size, 0, fds, 0);
                reply.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, offeredFeatures);
                return U64_LENGTH;
            }
            case VhostUserRequest.SET_FEATURES ->
            {
                expect(request, size, U64_LENGTH, fds, 0);
                setFeatures(payload.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
                return -1;
            }
            case VhostUserRequest.GET_PROTOCOL_FEATURES ->
            {
                expect(request, size, 0, fds, 0);
                reply.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, offeredProtocolFeatures);
                return U64_LENGTH;
            }
            case VhostUserRequest.SET_PROTOCOL_FEATURES ->
            {
                expect(request, size, U64_LENGTH, fds, 0);
                setProtocolFeatures(payload.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
                return -1;
            }
            case VhostUserRequest.SET_OWNER ->
            {
                expect(request, size, 0, fds, 0);
                return -1;
            }
            case VhostUserRequest.RESET_OWNER ->
            {
                expect(request, size, 0, fds, 0);
                resetRings();
                features = 0;
                featuresSet = false;
                return -1;
            }
            case VhostUserRequest.GET_QUEUE_NUM ->
            {
                expect(request, size, 0, fds, 0);
                requireProtocolFeature(request, VhostUserProtocolFeature.MQ);
                reply.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, rings);
                return U64_LENGTH;
            }
            case VhostUserRequest.SET_MEM_TABLE ->
            {
                setMemTable(payload, fds);
                return -1;
            }
            case VhostUserRequest.SET_LOG_BASE, VhostUserRequest.SET_LOG_FD -> throw new VhostUserException(
                VhostUserCounter.NOT_NEGOTIATED, "dirty-page logging needs LOG_SHMFD, which is not offered: request="
                + VhostUserRequest.name(request));
            case VhostUserRequest.SET_VRING_NUM ->
            {
                expect(request, size, STATE_LENGTH, fds, 0);
                setVringNum(ringIndex(payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_INDEX_OFFSET)),
                    payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_NUM_OFFSET));
                return -1;
            }
            case VhostUserRequest.SET_VRING_BASE ->
            {
                expect(request, size, STATE_LENGTH, fds, 0);
                setVringBase(ringIndex(payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_INDEX_OFFSET)),
                    payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_NUM_OFFSET));
                return -1;
            }
            case VhostUserRequest.SET_VRING_ADDR ->
            {
                expect(request, size, ADDR_LENGTH, fds, 0);
                setVringAddr(ringIndex(payload.get(ValueLayout.JAVA_INT_UNALIGNED, ADDR_INDEX_OFFSET)),
                    payload.get(ValueLayout.JAVA_LONG_UNALIGNED, ADDR_DESC_OFFSET),
                    payload.get(ValueLayout.JAVA_LONG_UNALIGNED, ADDR_USED_OFFSET),
                    payload.get(ValueLayout.JAVA_LONG_UNALIGNED, ADDR_AVAIL_OFFSET));
                return -1;
            }
            case VhostUserRequest.GET_VRING_BASE ->
            {
                expect(request, size, STATE_LENGTH, fds, 0);
                final int index = ringIndex(payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_INDEX_OFFSET));
                reply.set(ValueLayout.JAVA_INT_UNALIGNED, STATE_INDEX_OFFSET, index);
                reply.set(ValueLayout.JAVA_INT_UNALIGNED, STATE_NUM_OFFSET, stopRing(index));
                return STATE_LENGTH;
            }
            case VhostUserRequest.SET_VRING_KICK, VhostUserRequest.SET_VRING_CALL, VhostUserRequest.SET_VRING_ERR ->
            {
                setVringFile(request, payload, fds);
                return -1;
            }
            case VhostUserRequest.SET_VRING_ENABLE ->
            {
                // QEMU sends it before SET_FEATURES, once bit 30 is offered (which it always is here)
                expect(request, size, STATE_LENGTH, fds, 0);
                final int index = ringIndex(payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_INDEX_OFFSET));
                enabled[index] = payload.get(ValueLayout.JAVA_INT_UNALIGNED, STATE_NUM_OFFSET) != 0;
                reconcile();
                return -1;
            }
            case VhostUserRequest.GET_CONFIG ->
            {
                requireProtocolFeature(request, VhostUserProtocolFeature.CONFIG);
                return ConfigSpace.read(device, payload, fds, reply);
            }
            case VhostUserRequest.SET_CONFIG ->
            {
                requireProtocolFeature(request, VhostUserProtocolFeature.CONFIG);
                ConfigSpace.write(device, payload, fds);
                return -1;
            }
            default -> throw new VhostUserException(VhostUserCounter.UNKNOWN_REQUEST,
                "request not served: request=" + VhostUserRequest.name(request) + ", size=" + size);
        }
    }

    private void requireProtocolFeature(final int request, final int bit)
    {
        if (!VirtioFeatures.has(protocolFeatures, bit))
        {
            throw new VhostUserException(VhostUserCounter.NOT_NEGOTIATED, "request needs a protocol feature that "
                + "was not negotiated: request=" + VhostUserRequest.name(request) + ", bit=" + bit);
        }
    }

    private int ringIndex(final int index)
    {
        if (index < 0 || index >= rings)
        {
            throw new VhostUserException(VhostUserCounter.RING_INDEX_OUT_OF_RANGE,
                "ring index out of range: index=" + Integer.toUnsignedString(index) + ", rings=" + rings);
        }
        return index;
    }

    // ---------------------------------------------------------------------------------------------- features

    private void setFeatures(final long acked)
    {
        if ((acked & ~offeredFeatures) != 0)
        {
            throw new VhostUserException(VhostUserCounter.FEATURES_REFUSED, "features not offered: features=0x"
                + Long.toHexString(acked) + ", offered=0x" + Long.toHexString(offeredFeatures));
        }
        if (!VirtioFeatures.has(acked, VirtioFeatures.VIRTIO_F_VERSION_1))
        {
            throw new VhostUserException(VhostUserCounter.FEATURES_REFUSED,
                "features without VERSION_1 (a legacy guest): features=0x" + Long.toHexString(acked));
        }
        final long deviceFeatures =
            acked & ~VirtioFeatures.bit(VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES);
        final String refusal = device.checkFeatures(deviceFeatures);
        if (refusal != null)
        {
            throw new VhostUserException(VhostUserCounter.FEATURES_REFUSED, "device refused features: reason="
                + refusal + ", features=0x" + Long.toHexString(acked));
        }
        final boolean changed = !featuresSet || features != acked;
        features = acked;
        featuresSet = true;
        if (changed && active)
        {
            deactivate();
        }
        reconcile();
    }

    private void setProtocolFeatures(final long acked)
    {
        if ((acked & ~offeredProtocolFeatures) != 0)
        {
            throw new VhostUserException(VhostUserCounter.FEATURES_REFUSED, "protocol features not offered: "
                + "features=0x" + Long.toHexString(acked) + ", offered=0x" + Long.toHexString(offeredProtocolFeatures));
        }
        protocolFeatures = acked;
    }

    // ---------------------------------------------------------------------------------------------- memory

    private void setMemTable(final MemorySegment payload, final UnixSocket fds)
    {
        final int size = (int)payload.byteSize();
        if (size < MEMORY_REGIONS_OFFSET)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE,
                "memory table shorter than its header: size=" + size);
        }
        final int n = payload.get(ValueLayout.JAVA_INT_UNALIGNED, MEMORY_NREGIONS_OFFSET);
        if (n < 1 || n > MAX_REGIONS)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE,
                "memory table region count out of range: nregions=" + Integer.toUnsignedString(n) + ", max="
                    + MAX_REGIONS);
        }
        expect(VhostUserRequest.SET_MEM_TABLE, size, VhostUserMessageLayout.memoryLength(n), fds, n);
        final long[] guestAddrs = new long[n];
        final long[] sizes = new long[n];
        final long[] userAddrs = new long[n];
        final long[] offsets = new long[n];
        final int[] regionFds = new int[n];
        // bound: at most MAX_REGIONS regions
        for (int i = 0; i < n; i++)
        {
            final long at = MEMORY_REGIONS_OFFSET + (long)i * REGION_LENGTH;
            guestAddrs[i] = payload.get(ValueLayout.JAVA_LONG_UNALIGNED, at + REGION_GUEST_ADDR_OFFSET);
            sizes[i] = payload.get(ValueLayout.JAVA_LONG_UNALIGNED, at + REGION_SIZE_OFFSET);
            userAddrs[i] = payload.get(ValueLayout.JAVA_LONG_UNALIGNED, at + REGION_USER_ADDR_OFFSET);
            offsets[i] = payload.get(ValueLayout.JAVA_LONG_UNALIGNED, at + REGION_MMAP_OFFSET_OFFSET);
            regionFds[i] = fds.takeFd(i);
        }
        final MemoryTable mapped = MemoryTable.map(guestAddrs, sizes, userAddrs, offsets, regionFds);
        deactivate();
        final MemoryTable old = table;
        table = mapped;
        if (old != null)
        {
            old.close();
        }
        // ring addresses set under the old table must still translate, or the rings cannot run
        // bound: one pass over the rings
        for (int i = 0; i < rings; i++)
        {
            if (addrSet[i] && ringNum[i] != 0 && !translates(i))
            {
                throw new VhostUserException(VhostUserCounter.RING_OUTSIDE_MEMORY,
                    "ring outside the new memory table: index=" + i);
            }
        }
        reconcile();
    }

    // ---------------------------------------------------------------------------------------------- rings

    private void setVringNum(final int index, final int num)
    {
        final int max = device.queueMaxSize(index);
        if (num <= 0 || (num & (num - 1)) != 0 || num > max)
        {
            throw new VhostUserException(VhostUserCounter.BAD_RING_SIZE, "ring size must be a power of two from 1 "
                + "to the maximum: index=" + index + ", num=" + Integer.toUnsignedString(num) + ", max=" + max);
        }
        if (addrSet[index] && !translates(index, num))
        {
            // CVE-2020-10723: a ring accepted small must not grow past its region once its addresses are set
            throw new VhostUserException(VhostUserCounter.RING_OUTSIDE_MEMORY, "ring at its new size outside the "
                + "memory table: index=" + index + ", num=" + num + ", desc=0x"
                + Long.toHexString(descUserAddr[index]));
        }
        stopIfRunning(index);
        ringNum[index] = num;
        reconcile();
    }

    private void setVringBase(final int index, final int base)
    {
        if ((base & ~U16_MASK) != 0)
        {
            throw new VhostUserException(VhostUserCounter.BAD_RING_BASE, "ring base must be a u16: index=" + index
                + ", base=" + Integer.toUnsignedString(base));
        }
        stopIfRunning(index);
        ringBase[index] = base;
        reconcile();
    }

    private void setVringAddr(final int index, final long desc, final long used, final long avail)
    {
        if (table == null)
        {
            throw new VhostUserException(VhostUserCounter.RING_OUTSIDE_MEMORY,
                "ring address before any memory table: index=" + index);
        }
        stopIfRunning(index);
        descUserAddr[index] = desc;
        usedUserAddr[index] = used;
        availUserAddr[index] = avail;
        addrSet[index] = true;
        if (!translates(index))
        {
            addrSet[index] = false;
            throw new VhostUserException(VhostUserCounter.RING_OUTSIDE_MEMORY, "ring outside the memory table: "
                + "index=" + index + ", desc=0x" + Long.toHexString(desc) + ", used=0x" + Long.toHexString(used)
                + ", avail=0x" + Long.toHexString(avail) + ", num=" + ringNum[index]);
        }
        reconcile();
    }

    /** @return true if the ring's three areas, at its size (or one byte before SET_VRING_NUM), are in the table. */
    private boolean translates(final int index)
    {
        return translates(index, Math.max(ringNum[index], 1));
    }

    /** @return true if the ring's three areas, at size {@code num}, are each inside one region of the table. */
    private boolean translates(final int index, final int num)
    {
        final SplitQueueConfig c = ringConfig(index, num, false, false);
        return c.descTable() != -1 && c.availRing() != -1 && c.usedRing() != -1;
    }

    /** @return ring {@code index} at size {@code num} in guest-physical addresses; -1 for an area outside the table. */
    private SplitQueueConfig ringConfig(final int index, final int num, final boolean eventIdx, final boolean indirect)
    {
        return new SplitQueueConfig(num,
            table.toGuestPhysical(descUserAddr[index], DescriptorLayout.tableLength(num)),
            table.toGuestPhysical(availUserAddr[index], AvailRingLayout.length(num)),
            table.toGuestPhysical(usedUserAddr[index], UsedRingLayout.length(num)), eventIdx, indirect);
    }

    private void setVringFile(final int request, final MemorySegment payload, final UnixSocket fds)
    {
        expectSize(request, payload.byteSize(), U64_LENGTH);
        final long value = payload.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        if ((value & ~(FILE_INDEX_MASK | FILE_NOFD)) != 0)
        {
            throw new VhostUserException(VhostUserCounter.BAD_PAYLOAD_SIZE, "reserved bits set in ring fd message: "
                + "request=" + VhostUserRequest.name(request) + ", value=0x" + Long.toHexString(value));
        }
        final boolean noFd = (value & FILE_NOFD) != 0;
        expectFds(request, fds, noFd ? 0 : 1);
        final int index = ringIndex((int)(value & FILE_INDEX_MASK));
        if (request == VhostUserRequest.SET_VRING_KICK && noFd)
        {
            throw new VhostUserException(VhostUserCounter.POLLING_NOT_SUPPORTED,
                "kick without fd asks for polling, which is not offered: index=" + index);
        }
        final LinuxEventFd eventFd = noFd ? null : LinuxEventFd.adopt(fds.takeFd(0));
        switch (request)
        {
            case VhostUserRequest.SET_VRING_KICK ->
            {
                stopIfRunning(index);
                closeQuietly(kicks[index]);
                kicks[index] = eventFd;
                if (!VirtioFeatures.has(features, VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES))
                {
                    enabled[index] = true;
                }
                reconcile();
            }
            case VhostUserRequest.SET_VRING_CALL -> closeQuietly(interrupt.setCall(index, eventFd));
            default ->
            {
                closeQuietly(errs[index]);
                errs[index] = eventFd;
            }
        }
    }

    /**
     * GET_VRING_BASE: stops the ring and answers its {@code last_avail_idx}.
     *
     * @return the next available index the device would have popped.
     */
    private int stopRing(final int index)
    {
        stopIfRunning(index);
        closeQuietly(kicks[index]);
        kicks[index] = null;
        if (VirtioFeatures.has(features, VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES))
        {
            enabled[index] = false;
        }
        final int base = ringBase[index];
        reconcile();
        return base;
    }

    /** Deactivates the device if {@code index} runs, so that its state may change. */
    private void stopIfRunning(final int index)
    {
        if (active && running[index])
        {
            deactivate();
        }
    }

    private boolean runs(final int index)
    {
        return kicks[index] != null && enabled[index] && addrSet[index] && ringNum[index] != 0;
    }

    /** Activates or deactivates the device so that it is active exactly when the rule of the class comment holds. */
    private void reconcile()
    {
        int runningCount = 0;
        boolean allStartedRun = true;
        boolean same = true;
        // bound: one pass over the rings
        for (int i = 0; i < rings; i++)
        {
            final boolean runsNow = runs(i);
            if (runsNow)
            {
                runningCount++;
            }
            else if (kicks[i] != null)
            {
                allStartedRun = false;
            }
            if (runsNow != running[i])
            {
                same = false;
            }
        }
        final boolean want = table != null && featuresSet && runningCount >= minRings && allStartedRun;
        if (active && (!want || !same))
        {
            deactivate();
        }
        if (!active && want)
        {
            activate();
        }
    }

    private void activate()
    {
        final int queueCount = device.queueCount();
        final SplitQueue[] built = new SplitQueue[queueCount];
        final boolean[] queueEnabled = new boolean[queueCount];
        final EventFd[] queueKicks = new EventFd[queueCount];
        final boolean eventIdx = VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_EVENT_IDX);
        final boolean indirect = VirtioFeatures.has(features, VirtioFeatures.VIRTIO_F_INDIRECT_DESC);
        // bound: one pass over the device's queues, at most 64
        for (int i = 0; i < queueCount; i++)
        {
            built[i] = new SplitQueue(table.memory(), device.queueMaxSize(i), this::queueBroken);
        }
        queues = built;
        // bound: one pass over the rings
        for (int i = 0; i < rings; i++)
        {
            if (!runs(i))
            {
                continue;
            }
            final SplitQueueConfig config = ringConfig(i, ringNum[i], eventIdx, indirect);
            final QueueConfigStatus status = config.usedRing() == -1 ? QueueConfigStatus.USED_RING_NOT_IN_RAM
                : built[i].activate(config, ringBase[i],
                table.memory().getShortAcquireLE(config.usedRing() + UsedRingLayout.IDX_OFFSET) & U16_MASK);
            if (status != QueueConfigStatus.VALID)
            {
                clearRunning();
                throw new VhostUserException(VhostUserCounter.RING_CONFIG_REJECTED, "ring configuration refused: "
                    + "index=" + i + ", status=" + status + ", num=" + config.size());
            }
            queueEnabled[i] = true;
            queueKicks[i] = kicks[i];
            running[i] = true;
        }
        final long deviceFeatures = features
            & ~VirtioFeatures.bit(VhostUserProtocolFeature.VHOST_USER_F_PROTOCOL_FEATURES);
        try
        {
            device.activate(new ActiveContext(deviceFeatures, table.memory(), built, queueEnabled, queueKicks,
                interrupt));
        }
        catch (final RuntimeException ex)
        {
            device.reset();
            clearRunning();
            throw new VhostUserException(VhostUserCounter.ACTIVATION_FAILED, "device activation failed: cause="
                + ex.getMessage());
        }
        activeFeatures = deviceFeatures;
        active = true;
    }

    /** Resets the device (its workers stop) and saves each running ring's next available index. */
    private void deactivate()
    {
        if (!active)
        {
            return;
        }
        device.reset();
        active = false;
        // bound: one pass over the rings
        for (int i = 0; i < rings; i++)
        {
            if (running[i] && queues[i].isActive())
            {
                ringBase[i] = queues[i].nextAvail();
            }
        }
        clearRunning();
    }

    private void clearRunning()
    {
        if (queues != null)
        {
            // bound: one pass over the device's queues
            for (final SplitQueue queue : queues)
            {
                queue.reset();
            }
        }
        queues = null;
        Arrays.fill(running, false);
    }

    private void queueBroken(final VirtQueue queue, final QueueError reason)
    {
        counters.increment(VhostUserCounter.QUEUE_BROKEN);
        LOG.log(System.Logger.Level.WARNING, "vhost-user ring broken by the guest: reason=" + reason);
    }

    // ---------------------------------------------------------------------------------------------- lifecycle

    /** Stops the device and forgets every ring (RESET_OWNER, disconnect); the memory table stays until disconnect. */
    private void resetRings()
    {
        deactivate();
        // bound: one pass over the rings
        for (int i = 0; i < rings; i++)
        {
            closeQuietly(kicks[i]);
            kicks[i] = null;
            closeQuietly(errs[i]);
            errs[i] = null;
            closeQuietly(interrupt.setCall(i, null));
            ringNum[i] = 0;
            ringBase[i] = 0;
            addrSet[i] = false;
            enabled[i] = false;
        }
    }

    /**
     * The front-end went away (or was refused): the device is reset, every fd closed, the memory unmapped and the
     * negotiation forgotten, ready for the next connection.
     */
    public void disconnect()
    {
        resetRings();
        if (table != null)
        {
            table.close();
            table = null;
        }
        features = 0;
        featuresSet = false;
        protocolFeatures = 0;
    }

    private static void closeQuietly(final EventFd eventFd)
    {
        if (eventFd != null)
        {
            eventFd.close();
        }
    }

    // ---------------------------------------------------------------------------------------------- DeviceHost

    @Override
    public void configChanged()
    {
        interrupt.signalConfig();
    }

    @Override
    public void needsReset(final String reason)
    {
        counters.increment(VhostUserCounter.NEEDS_RESET_NOT_SENT);
        LOG.log(System.Logger.Level.WARNING, "vhost-user device needs a reset it cannot report: reason=" + reason);
    }
}
