// Compiled twice: by MSBuild's RoslynCodeTaskFactory (TorchSharp.targets, with the task class at the end) and by
// tests/Engine.Tests (TLORA_ELF_TESTS defined, without it). Plain C#: no package beyond MSBuild's own.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace TLoRA.Build
{
    /// <summary>
    /// Reads and edits the symbol-version sections of a 64-bit little-endian ELF shared object: the versions it
    /// defines (<c>.gnu.version_d</c>) and the versions it needs from other libraries (<c>.gnu.version_r</c>). The one
    /// edit is to mark a needed version weak (<c>VER_FLG_WEAK</c>), so the dynamic linker accepts a library that lacks it.
    /// </summary>
    public static class ElfVersionNeeds
    {
        public const ushort VerFlagWeak = 0x2;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>A needed version: the library it comes from, its name, and its flags.</summary>
        public sealed class Need
        {
            public Need(string file, string version, ushort flags, int flagsOffset)
            {
                File = file;
                Version = version;
                Flags = flags;
                FlagsOffset = flagsOffset;
            }

            public string File { get; }
            public string Version { get; }
            public ushort Flags { get; }
            public int FlagsOffset { get; }
            public bool IsWeak => (Flags & VerFlagWeak) != 0;
        }

        /// <summary>Every version <paramref name="elf"/> needs, in file order.</summary>
        public static List<Need> Needs(byte[] elf)
        {
            var result = new List<Need>();
            foreach (var (offset, count, strtab) in Sections(elf, ShtGnuVerneed))
            {
                var entry = offset;
                for (var i = 0; i < count; i++)
                {
                    var file = CString(elf, strtab + U32(elf, entry + 4));
                    var aux = entry + (int)U32(elf, entry + 8);
                    for (var j = 0; j < U16(elf, entry + 2); j++)
                    {
                        var name = CString(elf, strtab + U32(elf, aux + 8));
                        result.Add(new Need(file, name, U16(elf, aux + 4), aux + 4));
                        var nextAux = U32(elf, aux + 12);
                        if (nextAux == 0) break;
                        aux += (int)nextAux;
                    }
                    var next = U32(elf, entry + 12);
                    if (next == 0) break;
                    entry += (int)next;
                }
            }
            return result;
        }

        /// <summary>Every version name <paramref name="elf"/> defines (e.g. GLIBCXX_3.4.30 for libstdc++).</summary>
        public static HashSet<string> Definitions(byte[] elf)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (offset, count, strtab) in Sections(elf, ShtGnuVerdef))
            {
                var entry = offset;
                for (var i = 0; i < count; i++)
                {
                    // Elf64_Verdef: version, flags, ndx, cnt (u16 ×4), hash, aux, next (u32 ×3); the first aux names it.
                    var aux = entry + (int)U32(elf, entry + 12);
                    result.Add(CString(elf, strtab + U32(elf, aux)));
                    var next = U32(elf, entry + 16);
                    if (next == 0) break;
                    entry += (int)next;
                }
            }
            return result;
        }

        /// <summary>Marks <paramref name="version"/> needed from <paramref name="file"/> weak, in place. Returns
        /// whether anything changed (false when it is already weak); throws when <paramref name="elf"/> does not need
        /// that version.</summary>
        public static bool MarkWeak(byte[] elf, string file, string version)
        {
            var changed = false;
            var found = false;
            foreach (var need in Needs(elf))
            {
                if (need.File != file || need.Version != version) continue;
                found = true;
                if (need.IsWeak) continue;
                var flags = (ushort)(need.Flags | VerFlagWeak);
                elf[need.FlagsOffset] = (byte)flags;
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
            }
            if (!found) throw new InvalidDataException("the ELF file does not need " + version + " from " + file);
            return changed;
        }

        // (offset, entry count, offset of the linked string table) of each section of the given type.
        private static List<(int Offset, int Count, int StringTable)> Sections(byte[] elf, uint type)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
            var shoff = checked((int)U64(elf, 0x28));
            int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shnum * shentsize > elf.Length)
                throw new InvalidDataException("the ELF section headers lie outside the file");
            var result = new List<(int, int, int)>();
            for (var i = 0; i < shnum; i++)
            {
                var sh = shoff + i * shentsize;
                if (U32(elf, sh + 4) != type) continue;
                var link = (int)U32(elf, sh + 0x28);
                if (link >= shnum) throw new InvalidDataException("a version section links to no string table");
                var strtab = checked((int)U64(elf, shoff + link * shentsize + 0x18));
                // sh_info holds the number of entries of version sections.
                result.Add((checked((int)U64(elf, sh + 0x18)), (int)U32(elf, sh + 0x2c), strtab));
            }
            return result;
        }

        private static ushort U16(byte[] b, int at) => (ushort)(b[at] | b[at + 1] << 8);
        private static uint U32(byte[] b, int at) => (uint)(U16(b, at) | U16(b, at + 2) << 16);
        private static ulong U64(byte[] b, int at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;

        private static string CString(byte[] b, long at)
        {
            if (at < 0 || at >= b.Length) throw new InvalidDataException("an ELF string lies outside the file");
            var end = (int)at;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
        }
    }
}

#if !TLORA_ELF_TESTS
namespace TLoRA.Build
{
    /// <summary>
    /// MSBuild task: in the given copies of a library (never the NuGet cache's), marks weak each needed libstdc++
    /// version in <see cref="Versions"/> that the machine's libstdc++ (the one this dotnet process loaded) lacks.
    /// Idempotent; keeps the file's timestamp so an incremental build does not copy the original over it again.
    /// </summary>
    public sealed class WeakenMissingLibStdCxxVersions : Microsoft.Build.Utilities.Task
    {
        private const string LibStdCxx = "libstdc++.so.6";

        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Semicolon-separated version names, e.g. GLIBCXX_3.4.32.</summary>
        [Microsoft.Build.Framework.Required]
        public string Versions { get; set; } = "";

        public override bool Execute()
        {
            var system = LoadedLibStdCxx();
            if (system is null)
            {
                Log.LogMessage("no libstdc++ loaded in this process: nothing to weaken");
                return true;
            }
            var defined = ElfVersionNeeds.Definitions(System.IO.File.ReadAllBytes(system));
            var missing = new List<string>();
            foreach (var v in Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
                if (!defined.Contains(v.Trim())) missing.Add(v.Trim());
            if (missing.Count == 0) return true;
            foreach (var item in Files)
            {
                var path = item.ItemSpec;
                var bytes = System.IO.File.ReadAllBytes(path);
                var changed = false;
                foreach (var need in ElfVersionNeeds.Needs(bytes))
                    if (need.File == LibStdCxx && missing.Contains(need.Version) && !need.IsWeak)
                        changed |= ElfVersionNeeds.MarkWeak(bytes, LibStdCxx, need.Version);
                if (!changed) continue;
                var stamp = System.IO.File.GetLastWriteTimeUtc(path);
                var temp = path + ".weak.tmp";
                System.IO.File.WriteAllBytes(temp, bytes);
                System.IO.File.Replace(temp, path, null);
                System.IO.File.SetLastWriteTimeUtc(path, stamp);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    "{0}: marked {1} weak ({2} lacks it)", path, string.Join(", ", missing), system);
            }
            return true;
        }

        /// <summary>The libstdc++ this process mapped (the dotnet host links it), or null off Linux.</summary>
        private static string? LoadedLibStdCxx()
        {
            if (!System.IO.File.Exists("/proc/self/maps")) return null;
            foreach (var line in System.IO.File.ReadLines("/proc/self/maps"))
            {
                // The mapped file is the symlink's target, e.g. /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30.
                var at = line.IndexOf('/');
                if (at >= 0 && System.IO.Path.GetFileName(line).StartsWith(LibStdCxx, StringComparison.Ordinal))
                    return line.Substring(at);
            }
            return null;
        }
    }
}
#endif
