// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {AdminPausable} from "AdminRoles.sol";
import {BatchMerkle} from "BatchMerkle.sol";
import {ParticipantRegistry} from "ParticipantRegistry.sol";

/// @title Settlement
/// @notice The clearing house of a CCEI market. Participants keep tokens in escrow here; the
///         operator settles each market round as one batch. Both sides of every trade sign: the
///         buyer's bid and the seller's ask are EIP-712 orders, each checked against its limit, so
///         the operator only matches them and cannot choose who pays or who is paid. A payment
///         (a bargaining settlement, a penalty, a fee) is a payer-signed transfer in the same batch.
///         Each batch's trades and payments are committed to by an RFC 9162 Merkle root, stored
///         under the batch id and emitted. Balances are netted: each participant's escrow is
///         written once per batch.
/// @dev One settlement entry point, orders and trades decoded as ABI calldata structs, every
///      signature and limit checked and every fill recorded: the pattern of CoW Protocol's
///      GPv2Settlement. Typed data per EIP-712 (OpenZeppelin `EIP712`), recovery through
///      OpenZeppelin `ECDSA`, which refuses high-s signatures (EIP-2). The code is this project's.
contract Settlement is AdminPausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice The most trades one batch may carry.
    uint256 public constant MAX_BATCH_TRADES = 256;
    /// @notice The most signed orders one batch may carry (a bid and an ask per trade).
    uint256 public constant MAX_BATCH_ORDERS = 512;
    /// @notice The most payments one batch may carry.
    uint256 public constant MAX_BATCH_PAYMENTS = 256;
    /// @notice The most participants one batch may list.
    uint256 public constant MAX_BATCH_PARTICIPANTS = 512;
    /// @notice `Order.side` of a bid (the owner pays at most `limitPrice` per unit).
    uint8 public constant BUY = 0;
    /// @notice `Order.side` of an ask (the owner takes at least `limitPrice` per unit).
    uint8 public constant SELL = 1;
    /// @notice EIP-712 type hash of `Order`.
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint64 orderId,uint8 side,uint8 resource,uint64 limitPrice,uint64 quantity,uint64 expiry)"
    );
    /// @notice EIP-712 type hash of `Payment`.
    bytes32 public constant PAYMENT_TYPEHASH = keccak256(
        "Payment(address payer,address payee,uint64 paymentId,uint64 amount,uint64 expiry,bytes32 memo)"
    );
    /// @dev The registry's operator capacity bit (`ParticipantRegistry.OPERATOR`).
    uint8 private constant OPERATOR = 1;
    /// @dev The kind word that leads a trade's and a payment's Merkle leaf data.
    uint8 private constant TRADE_LEAF = 0;
    uint8 private constant PAYMENT_LEAF = 1;

    /// @notice An order: a bid (`side` BUY) pays at most, an ask (`side` SELL) takes at least,
    ///         `limitPrice` per unit for at most `quantity` units of `resource`, until `expiry`
    ///         (inclusive, unix seconds).
    struct Order {
        address owner;
        uint64 orderId;
        uint8 side;
        uint8 resource;
        uint64 limitPrice;
        uint64 quantity;
        uint64 expiry;
    }

    /// @notice An order with its owner's signature and the index of its owner in the batch's participants.
    struct SignedOrder {
        Order order;
        uint32 party;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A matched trade: `quantity` units from signed ask `ask` to signed bid `bid` at `price` per unit.
    struct Trade {
        uint32 bid;
        uint32 ask;
        uint64 price;
        uint64 quantity;
    }

    /// @notice A transfer of `amount` from `payer` to `payee`, once (per payer and `paymentId`),
    ///         until `expiry`; `memo` is keccak256 of what it is for ("nash-bargain", "penalty", "fee").
    struct Payment {
        address payer;
        address payee;
        uint64 paymentId;
        uint64 amount;
        uint64 expiry;
        bytes32 memo;
    }

    /// @notice A payment with the payer's signature and the indices of payer and payee in the batch's participants.
    struct SignedPayment {
        Payment payment;
        uint32 payerParty;
        uint32 payeeParty;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice The token escrow is held in.
    IERC20 public immutable token;
    /// @notice Who may trade and who operates.
    ParticipantRegistry public immutable registry;

    /// @notice Escrow balance of each account, in token micro-units.
    mapping(address account => uint256) public balanceOf;
    /// @notice The Merkle root of each settled batch's trades and payments (zero: not settled).
    mapping(uint256 batchId => bytes32) public batchRoot;
    /// @notice Units filled so far of each owner's order (the maximum uint64 once cancelled).
    mapping(address owner => mapping(uint64 orderId => uint64)) public filled;
    /// @notice Whether a payer's payment id has been paid (or cancelled).
    mapping(address payer => mapping(uint64 paymentId => bool)) public paymentSettled;

    /// @notice `account`'s escrow was credited with `amount` tokens taken from `from`.
    event Deposited(address indexed from, address indexed account, uint256 amount);
    /// @notice `account` took `amount` out of its escrow.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `owner` cancelled its order `orderId`.
    event OrderCancelled(address indexed owner, uint64 orderId);
    /// @notice `payer` cancelled its payment `paymentId` before it was paid.
    event PaymentCancelled(address indexed payer, uint64 paymentId);
    /// @notice One trade of batch `batchId`.
    event TradeSettled(
        uint256 indexed batchId,
        address indexed buyer,
        address indexed seller,
        uint64 bidOrderId,
        uint64 askOrderId,
        uint8 resource,
        uint256 price,
        uint256 quantity
    );
    /// @notice One payment of batch `batchId`.
    event PaymentSettled(
        uint256 indexed batchId, address indexed payer, address indexed payee, uint64 paymentId, uint256 amount, bytes32 memo
    );
    /// @notice Batch `batchId` settled: its Merkle `root`, its counts, its trade volume and the sum of its payments.
    event BatchSettled(
        uint256 indexed batchId, bytes32 root, uint256 trades, uint256 payments, uint256 volume, uint256 paid
    );

    error NotOperator(address caller);
    error ZeroAmount();
    error BatchAlreadySettled(uint256 batchId);
    error EmptyBatch();
    error BatchTooLarge(uint256 size, uint256 max);
    error ParticipantsNotSorted(uint256 index);
    error NotRegistered(address account);
    error PartyOutOfRange(uint256 orderIndex, uint256 party);
    error PartyMismatch(uint256 orderIndex, address party, address owner);
    error OrderExpired(address owner, uint64 orderId, uint64 expiry);
    error SignatureMalleable(uint256 orderIndex);
    error InvalidSigner(uint256 orderIndex, address recovered, address owner);
    error OrderOutOfRange(uint256 tradeIndex, uint256 order);
    error WrongSide(uint256 tradeIndex, uint256 order);
    error ResourceMismatch(uint256 tradeIndex, uint8 bidResource, uint8 askResource);
    error PriceAboveLimit(uint256 tradeIndex, uint256 price, uint256 limit);
    error PriceBelowLimit(uint256 tradeIndex, uint256 price, uint256 limit);
    error OrderOverfilled(address owner, uint64 orderId, uint256 filled, uint256 quantity);
    error PaymentPartyOutOfRange(uint256 paymentIndex, uint256 party);
    error PaymentPartyMismatch(uint256 paymentIndex, address party, address account);
    error PaymentExpired(address payer, uint64 paymentId, uint64 expiry);
    error ZeroPayment(uint256 paymentIndex);
    error PaymentSignatureMalleable(uint256 paymentIndex);
    error InvalidPaymentSigner(uint256 paymentIndex, address recovered, address payer);
    error PaymentAlreadySettled(address payer, uint64 paymentId);
    error InsufficientEscrow(address account, uint256 balance, uint256 needed);

    /// @param token_ The escrow token.
    /// @param registry_ The participant registry.
    /// @param admin The first admin.
    constructor(IERC20 token_, ParticipantRegistry registry_, address admin)
        AdminPausable(admin)
        EIP712("CCEI Settlement", "1")
    {
        token = token_;
        registry = registry_;
    }

    /// @notice The EIP-712 domain separator: name "CCEI Settlement", version "1", this chain, this contract.
    /// @return The separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The EIP-712 digest an owner signs for `order`.
    /// @param order The order.
    /// @return The digest `keccak256("\x19\x01" || domainSeparator || hashStruct(order))`.
    function orderDigest(Order calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH,
                    order.owner,
                    order.orderId,
                    order.side,
                    order.resource,
                    order.limitPrice,
                    order.quantity,
                    order.expiry
                )
            )
        );
    }

    /// @notice The EIP-712 digest a payer signs for `payment`.
    /// @param payment The payment.
    /// @return The digest `keccak256("\x19\x01" || domainSeparator || hashStruct(payment))`.
    function paymentDigest(Payment calldata payment) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    PAYMENT_TYPEHASH,
                    payment.payer,
                    payment.payee,
                    payment.paymentId,
                    payment.amount,
                    payment.expiry,
                    payment.memo
                )
            )
        );
    }

    /// @notice Whether batch `batchId` has been settled.
    /// @param batchId The batch id.
    /// @return True once settled.
    function batchSettled(uint256 batchId) external view returns (bool) {
        return batchRoot[batchId] != bytes32(0);
    }

    /// @notice Moves `amount` tokens from the caller into `account`'s escrow balance.
    /// @dev The caller must have approved this contract for `amount` on the token. The operator
    ///      funds participants this way, so they need no gas of their own. Emits `Deposited`.
    /// @param account Whose escrow balance is credited.
    /// @param amount Micro-units to deposit.
    function depositFor(address account, uint256 amount) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (account == address(0)) revert ZeroAddress();
        balanceOf[account] += amount;
        emit Deposited(msg.sender, account, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraws `amount` of the caller's escrow balance to the caller. Works while paused.
    ///         Emits `Withdrawn`.
    /// @param amount Micro-units to withdraw.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert InsufficientEscrow(msg.sender, balance, amount);
        balanceOf[msg.sender] = balance - amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Cancels one of the caller's orders: no later batch can fill it any further.
    ///         Emits `OrderCancelled`.
    /// @param orderId The order's id.
    function cancelOrder(uint64 orderId) external {
        filled[msg.sender][orderId] = type(uint64).max;
        emit OrderCancelled(msg.sender, orderId);
    }

    /// @notice Cancels one of the caller's payments before it is paid. Emits `PaymentCancelled`.
    /// @param paymentId The payment's id.
    function cancelPayment(uint64 paymentId) external {
        if (paymentSettled[msg.sender][paymentId]) revert PaymentAlreadySettled(msg.sender, paymentId);
        paymentSettled[msg.sender][paymentId] = true;
        emit PaymentCancelled(msg.sender, paymentId);
    }

    /// @notice Settles one batch, all or nothing. Checks, in this order: pause, operator, batch id
    ///         unused, non-empty, sizes; participants strictly ascending and registered; each
    ///         signed order's party, expiry and signature; each trade's order indices, sides,
    ///         resource and both limits; each payment's parties, expiry, amount, signature and
    ///         uniqueness; each order's cumulative fill; each participant's escrow against its net
    ///         debit. Stores and emits the batch's Merkle root (see `BatchMerkle`; leaves: the
    ///         trades, then the payments). Emits `TradeSettled` per trade, `PaymentSettled` per
    ///         payment, then `BatchSettled`.
    /// @param batchId Unique id of the batch; settles at most once.
    /// @param participants Addresses the orders and payments index into, strictly ascending.
    /// @param orders The bids and asks, each signed by its owner.
    /// @param trades The matched trades.
    /// @param payments The payer-signed payments.
    function settleBatch(
        uint256 batchId,
        address[] calldata participants,
        SignedOrder[] calldata orders,
        Trade[] calldata trades,
        SignedPayment[] calldata payments
    ) external whenNotPaused nonReentrant {
        if (!registry.hasRoles(msg.sender, OPERATOR)) revert NotOperator(msg.sender);
        if (batchRoot[batchId] != bytes32(0)) revert BatchAlreadySettled(batchId);
        if (trades.length == 0 && payments.length == 0) revert EmptyBatch();
        if (trades.length > MAX_BATCH_TRADES) revert BatchTooLarge(trades.length, MAX_BATCH_TRADES);
        if (orders.length > MAX_BATCH_ORDERS) revert BatchTooLarge(orders.length, MAX_BATCH_ORDERS);
        if (payments.length > MAX_BATCH_PAYMENTS) revert BatchTooLarge(payments.length, MAX_BATCH_PAYMENTS);
        if (participants.length > MAX_BATCH_PARTICIPANTS) {
            revert BatchTooLarge(participants.length, MAX_BATCH_PARTICIPANTS);
        }
        _checkParticipants(participants);
        _checkOrders(participants, orders);
        int256[] memory delta = new int256[](participants.length);
        bytes32[] memory leaves = new bytes32[](trades.length + payments.length);
        uint256 volume = _applyTrades(batchId, orders, trades, delta, leaves);
        uint256 paid = _applyPayments(batchId, participants, payments, delta, leaves, trades.length);
        _applyNet(participants, delta);
        _commit(batchId, leaves, trades.length, payments.length, volume, paid);
    }

    /// @dev Stores and emits the batch's root over its leaf hashes `leaves`.
    function _commit(uint256 batchId, bytes32[] memory leaves, uint256 trades, uint256 payments, uint256 volume, uint256 paid)
        private
    {
        bytes32 root = BatchMerkle.root(leaves);
        batchRoot[batchId] = root;
        emit BatchSettled(batchId, root, trades, payments, volume, paid);
    }

    function _checkParticipants(address[] calldata participants) private view {
        for (uint256 p = 1; p < participants.length; ++p) {
            if (participants[p] <= participants[p - 1]) revert ParticipantsNotSorted(p);
        }
        uint256 missing = registry.firstUnregistered(participants);
        if (missing < participants.length) revert NotRegistered(participants[missing]);
    }

    function _checkOrders(address[] calldata participants, SignedOrder[] calldata orders) private view {
        for (uint256 i = 0; i < orders.length; ++i) {
            SignedOrder calldata so = orders[i];
            Order calldata o = so.order;
            if (so.party >= participants.length) revert PartyOutOfRange(i, so.party);
            if (participants[so.party] != o.owner) revert PartyMismatch(i, participants[so.party], o.owner);
            if (block.timestamp > o.expiry) revert OrderExpired(o.owner, o.orderId, o.expiry);
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(orderDigest(o), so.v, so.r, so.s);
            if (err == ECDSA.RecoverError.InvalidSignatureS) revert SignatureMalleable(i);
            if (signer != o.owner) revert InvalidSigner(i, signer, o.owner);
        }
    }

    /// @dev Checks each trade, adds it to the net changes and the order fills, hashes its leaf and
    ///      emits it; then records the fills. Returns the trades' volume.
    function _applyTrades(
        uint256 batchId,
        SignedOrder[] calldata orders,
        Trade[] calldata trades,
        int256[] memory delta,
        bytes32[] memory leaves
    ) private returns (uint256 volume) {
        uint256[] memory fills = new uint256[](orders.length);
        for (uint256 i = 0; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            _checkTrade(i, orders, t);
            Order calldata bid = orders[t.bid].order;
            Order calldata ask = orders[t.ask].order;
            uint256 amount = uint256(t.price) * t.quantity;
            volume += amount;
            fills[t.bid] += t.quantity;
            fills[t.ask] += t.quantity;
            delta[orders[t.bid].party] -= int256(amount);
            delta[orders[t.ask].party] += int256(amount);
            leaves[i] = _tradeLeaf(bid, ask, t);
            emit TradeSettled(batchId, bid.owner, ask.owner, bid.orderId, ask.orderId, bid.resource, t.price, t.quantity);
        }
        _recordFills(orders, fills);
    }

    /// @dev Trade `i`'s order indices, sides, resource and both limits.
    function _checkTrade(uint256 i, SignedOrder[] calldata orders, Trade calldata t) private pure {
        if (t.bid >= orders.length) revert OrderOutOfRange(i, t.bid);
        if (t.ask >= orders.length) revert OrderOutOfRange(i, t.ask);
        Order calldata bid = orders[t.bid].order;
        Order calldata ask = orders[t.ask].order;
        if (bid.side != BUY) revert WrongSide(i, t.bid);
        if (ask.side != SELL) revert WrongSide(i, t.ask);
        if (bid.resource != ask.resource) revert ResourceMismatch(i, bid.resource, ask.resource);
        if (t.price > bid.limitPrice) revert PriceAboveLimit(i, t.price, bid.limitPrice);
        if (t.price < ask.limitPrice) revert PriceBelowLimit(i, t.price, ask.limitPrice);
    }

    /// @dev A trade's Merkle leaf hash (leaf data as `ledger.merkle.trade_leaf` documents).
    function _tradeLeaf(Order calldata bid, Order calldata ask, Trade calldata t) private pure returns (bytes32) {
        return BatchMerkle.leafHash(
            abi.encode(TRADE_LEAF, bid.owner, bid.orderId, ask.owner, ask.orderId, bid.resource, t.price, t.quantity)
        );
    }

    function _recordFills(SignedOrder[] calldata orders, uint256[] memory fills) private {
        for (uint256 i = 0; i < orders.length; ++i) {
            if (fills[i] == 0) continue;
            Order calldata o = orders[i].order;
            uint256 total = uint256(filled[o.owner][o.orderId]) + fills[i];
            if (total > o.quantity) revert OrderOverfilled(o.owner, o.orderId, total, o.quantity);
            filled[o.owner][o.orderId] = uint64(total);
        }
    }

    /// @dev Checks each payment, marks it paid, adds it to the net changes, hashes its leaf (after
    ///      the `offset` trade leaves) and emits it. Returns the payments' sum.
    function _applyPayments(
        uint256 batchId,
        address[] calldata participants,
        SignedPayment[] calldata payments,
        int256[] memory delta,
        bytes32[] memory leaves,
        uint256 offset
    ) private returns (uint256 paid) {
        for (uint256 i = 0; i < payments.length; ++i) {
            SignedPayment calldata sp = payments[i];
            Payment calldata p = sp.payment;
            _checkPayment(i, participants, sp);
            if (paymentSettled[p.payer][p.paymentId]) revert PaymentAlreadySettled(p.payer, p.paymentId);
            paymentSettled[p.payer][p.paymentId] = true;
            paid += p.amount;
            delta[sp.payerParty] -= int256(uint256(p.amount));
            delta[sp.payeeParty] += int256(uint256(p.amount));
            leaves[offset + i] =
                BatchMerkle.leafHash(abi.encode(PAYMENT_LEAF, p.payer, p.paymentId, p.payee, p.amount, p.memo));
            emit PaymentSettled(batchId, p.payer, p.payee, p.paymentId, p.amount, p.memo);
        }
    }

    /// @dev Payment `i`'s parties, expiry, amount and signature.
    function _checkPayment(uint256 i, address[] calldata participants, SignedPayment calldata sp) private view {
        Payment calldata p = sp.payment;
        if (sp.payerParty >= participants.length) revert PaymentPartyOutOfRange(i, sp.payerParty);
        if (sp.payeeParty >= participants.length) revert PaymentPartyOutOfRange(i, sp.payeeParty);
        if (participants[sp.payerParty] != p.payer) revert PaymentPartyMismatch(i, participants[sp.payerParty], p.payer);
        if (participants[sp.payeeParty] != p.payee) revert PaymentPartyMismatch(i, participants[sp.payeeParty], p.payee);
        if (block.timestamp > p.expiry) revert PaymentExpired(p.payer, p.paymentId, p.expiry);
        if (p.amount == 0) revert ZeroPayment(i);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(paymentDigest(p), sp.v, sp.r, sp.s);
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert PaymentSignatureMalleable(i);
        if (signer != p.payer) revert InvalidPaymentSigner(i, signer, p.payer);
    }

    function _applyNet(address[] calldata participants, int256[] memory delta) private {
        for (uint256 p = 0; p < participants.length; ++p) {
            int256 d = delta[p];
            if (d == 0) continue;
            address account = participants[p];
            uint256 balance = balanceOf[account];
            if (d < 0) {
                uint256 debit = uint256(-d);
                if (balance < debit) revert InsufficientEscrow(account, balance, debit);
                balanceOf[account] = balance - debit;
            } else {
                balanceOf[account] = balance + uint256(d);
            }
        }
    }
}
