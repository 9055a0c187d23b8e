package io.jvirtio.bus.kvm;

import java.util.List;

/**
 * An in-kernel bus device for tests: it logs its name on every access it is offered, takes writes and reads only if
 * told to, and counts its destructor calls.
 */
final class RecordingDevice implements IoDevice
{
    private final String name;
    private final boolean accepts;
    private final long readValue;
    private final List<String> log;
    private int destroyed;

    RecordingDevice(final String name, final boolean accepts, final List<String> log)
    {
        this(name, accepts, 0, log);
    }

    RecordingDevice(final String name, final boolean accepts, final long readValue, final List<String> log)
    {
        this.name = name;
        this.accepts = accepts;
        this.readValue = readValue;
        this.log = log;
    }

    @Override
    public boolean write(final long addr, final int len, final long value)
    {
        log.add(name);
        return accepts;
    }

    @Override
    public boolean read(final long addr, final int len, final IoValue value)
    {
        log.add(name);
        if (accepts)
        {
            value.set(readValue);
        }
        return accepts;
    }

    @Override
    public void destructor()
    {
        destroyed++;
    }

    int destroyed()
    {
        return destroyed;
    }

    @Override
    public String toString()
    {
        return name;
    }
}
