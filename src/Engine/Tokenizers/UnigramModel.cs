using System.Text;

namespace TLoRA.Engine.Tokenizers;

/// <summary>One token of a segmentation: the normalised text it covers and its id.</summary>
/// <param name="Piece">The piece's text; for &lt;unk&gt; the text it stands for (a fused run of unknown characters).</param>
/// <param name="Id">The vocabulary id.</param>
public readonly record struct SentencePieceToken(string Piece, int Id);

/// <summary>
/// The unigram language model's segmentation (sentencepiece's unigram Model::EncodeOptimized, which tokenizers' Unigram
/// follows): Viterbi over the normalised text for the path of maximal total score. Candidates are the NORMAL and
/// USER_DEFINED pieces (a user-defined piece scores its UTF-8 length · max score − 0.1 so that it always wins); a
/// character no single-character piece covers becomes &lt;unk&gt; with score min score − 10. Ties keep the candidate seen
/// first (the earliest start). Scores add up in double precision as tokenizers does (sentencepiece uses float).
/// Consecutive &lt;unk&gt; tokens are fused into one, as both libraries do.
/// </summary>
internal sealed class UnigramModel
{
    private const double UnkPenalty = 10.0;

    private sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public int Id = -1;
    }

    private readonly Node root = new();
    private readonly IReadOnlyList<SentencePiece> pieces;
    private readonly int unkId;
    private readonly double unkScore;
    private readonly double maxScore;

    public UnigramModel(IReadOnlyList<SentencePiece> pieces, int unkId)
    {
        this.pieces = pieces;
        this.unkId = unkId;
        double min = double.MaxValue, max = double.MinValue;
        for (var id = 0; id < pieces.Count; id++)
        {
            var p = pieces[id];
            if (p.Type == SentencePieceType.Normal)
            {
                min = Math.Min(min, p.Score);
                max = Math.Max(max, p.Score);
            }
            if (p.Type is SentencePieceType.Normal or SentencePieceType.UserDefined) Insert(p.Piece, id);
        }
        if (min == double.MaxValue) min = max = 0;
        unkScore = min - UnkPenalty;
        maxScore = max;
    }

    private void Insert(string piece, int id)
    {
        var node = root;
        foreach (var c in piece)
        {
            node.Children ??= new Dictionary<char, Node>();
            if (!node.Children.TryGetValue(c, out var next)) node.Children[c] = next = new Node();
            node = next;
        }
        node.Id = id;
    }

    private double Score(int id) => pieces[id].Type == SentencePieceType.UserDefined
        ? Encoding.UTF8.GetByteCount(pieces[id].Piece) * maxScore - 0.1
        : pieces[id].Score;

    /// <summary>The best segmentation of <paramref name="normalized"/> (already normalised and whitespace-escaped).</summary>
    public List<SentencePieceToken> Encode(string normalized)
    {
        var n = normalized.Length;
        var score = new double[n + 1];
        var start = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(start, -1);
        for (var at = 0; at < n;)
        {
            var step = char.IsHighSurrogate(normalized[at]) && at + 1 < n && char.IsLowSurrogate(normalized[at + 1]) ? 2 : 1;
            var here = score[at];
            var single = false;
            var node = root;
            for (var end = at; end < n;)
            {
                if (node.Children is null || !node.Children.TryGetValue(normalized[end], out var next)) break;
                node = next;
                end++;
                if (node.Id < 0) continue;
                Offer(end, here + Score(node.Id), at, node.Id);
                if (end - at == step) single = true;
            }
            if (!single) Offer(at + step, here + unkScore, at, unkId);
            at += step;
        }

        void Offer(int end, double candidate, int from, int id)
        {
            if (start[end] != -1 && !(candidate > score[end])) return;
            score[end] = candidate;
            start[end] = from;
            ids[end] = id;
        }

        var tokens = new List<SentencePieceToken>();
        for (var end = n; end > 0; end = start[end])
        {
            var text = normalized[start[end]..end];
            if (ids[end] == unkId && tokens.Count > 0 && tokens[^1].Id == unkId) tokens[^1] = new SentencePieceToken(text + tokens[^1].Piece, unkId);
            else tokens.Add(new SentencePieceToken(text, ids[end]));
        }
        tokens.Reverse();
        return tokens;
    }
}
