using System.Text.Json;
using System.Text.Json.Serialization;

namespace TLoRA.Engine.Unet;

/// <summary>
/// A diffusers config value that is either one value for every block or a list with one per block
/// (<c>attention_head_dim: 8</c> or <c>[5, 10, 20]</c>; <c>transformer_layers_per_block: 1</c> or <c>[1, 2, 10]</c>, whose
/// items may themselves be per-layer lists). Read from JSON as either form.
/// </summary>
[JsonConverter(typeof(PerBlockConverterFactory))]
public sealed class PerBlock<T>
{
    private readonly T single = default!;
    private readonly T[]? list;

    /// <summary>One value for every block.</summary>
    public PerBlock(T value) => single = value;

    /// <summary>One value per block.</summary>
    public PerBlock(T[] values) => list = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>Whether the config gave a list.</summary>
    public bool IsList => list is not null;

    /// <summary>The list's length (null for a single value).</summary>
    public int? Count => list?.Length;

    /// <summary>The value for block <paramref name="i"/>.</summary>
    public T this[int i] => list is null ? single
        : i >= 0 && i < list.Length ? list[i]
        : throw new InvalidDataException($"a per-block config list has {list.Length} entries; block {i} has none");

    /// <summary>The values for <paramref name="n"/> blocks (a list must have exactly n entries).</summary>
    public T[] Expand(int n, string name)
    {
        if (list is not null && list.Length != n)
            throw new InvalidDataException($"config '{name}' has {list.Length} entries for {n} blocks");
        return Enumerable.Range(0, n).Select(i => this[i]).ToArray();
    }

    /// <summary>The same values, last block first (diffusers reverses per-block lists for the up blocks).</summary>
    public PerBlock<T> Reversed() => list is null ? this : new PerBlock<T>(list.Reverse().ToArray());

    public static implicit operator PerBlock<T>(T value) => new(value);
    public static implicit operator PerBlock<T>(T[] values) => new(values);

    public override string ToString() => list is null ? $"{single}" : $"[{string.Join(", ", list)}]";
}

/// <summary>Creates the JSON converter of a <see cref="PerBlock{T}"/>.</summary>
public sealed class PerBlockConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(PerBlock<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class Converter<T> : JsonConverter<PerBlock<T>>
    {
        public override PerBlock<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.StartArray
                ? new PerBlock<T>(JsonSerializer.Deserialize<T[]>(ref reader, options)!)
                : new PerBlock<T>(JsonSerializer.Deserialize<T>(ref reader, options)!);

        public override void Write(Utf8JsonWriter writer, PerBlock<T> value, JsonSerializerOptions options)
        {
            if (value.Count is { } n) JsonSerializer.Serialize(writer, Enumerable.Range(0, n).Select(i => value[i]).ToArray(), options);
            else JsonSerializer.Serialize(writer, value[0], options);
        }
    }
}
